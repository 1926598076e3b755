import Glibc

/// Unix time in seconds, for the timestamps users see; scheduling uses `ContinuousClock`.
public enum WallClock {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}

/// Seconds on a clock that never jumps (CLOCK_BOOTTIME: it also counts suspended time), for
/// the age of a reading: a Pi without an RTC steps its wall clock by days when NTP syncs.
public enum Uptime {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}
