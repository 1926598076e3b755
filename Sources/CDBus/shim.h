#ifndef BMS_EXPORTER_CDBUS_SHIM_H
#define BMS_EXPORTER_CDBUS_SHIM_H
#include <dbus/dbus.h>
// The I/O thread waits on libdbus' watches and an eventfd with poll().
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

// A GNU extension, hidden from Swift's Glibc module (built without _GNU_SOURCE).
extern int pthread_setname_np(pthread_t thread, const char *name);

// Names the calling thread, so tools and tests can tell the I/O threads apart.
static inline void cdbus_name_current_thread(const char *name) {
    (void) pthread_setname_np(pthread_self(), name);
}
#endif
