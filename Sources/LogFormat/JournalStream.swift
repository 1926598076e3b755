import Glibc

/// Whether stderr is connected to the systemd journal.
///
/// systemd sets `JOURNAL_STREAM=DEVICE:INODE` for a service whose output goes to the journal;
/// the variable is inherited by children whose stderr may be redirected elsewhere, so it only
/// counts when it names the very file stderr is.
public enum JournalStream {
    public static func isStandardError() -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        var status = stat()
        guard fstat(2, &status) == 0 else { return false }
        return matches(String(cString: value), device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }

    /// Whether `variable` (`DEVICE:INODE`, both decimal) names this device and inode.
    static func matches(_ variable: String, device: UInt64, inode: UInt64) -> Bool {
        let parts = variable.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let namedDevice = UInt64(parts[0]), let namedInode = UInt64(parts[1]) else { return false }
        return namedDevice == device && namedInode == inode
    }
}
