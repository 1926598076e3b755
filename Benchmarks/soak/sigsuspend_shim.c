// valgrind 3.19 writes into the sigset passed to rt_sigsuspend; libdispatch passes a const one
// in read-only memory. Hand the syscall a writable copy instead.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
int sigsuspend(const sigset_t *mask) {
    static int (*real)(const sigset_t *);
    if (!real) real = (int (*)(const sigset_t *))dlsym(RTLD_NEXT, "sigsuspend");
    sigset_t copy = *mask;
    return real(&copy);
}
