#ifndef BMS_EXPORTER_CDBUS_SHIM_H
#define BMS_EXPORTER_CDBUS_SHIM_H
#include <dbus/dbus.h>
// The I/O thread waits on libdbus' watches and an eventfd with poll().
#include <poll.h>
#include <sys/eventfd.h>
#endif
