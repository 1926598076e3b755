import Testing

/// All D-Bus suites run one test at a time: the leak test counts the whole process's threads
/// and descriptors, which tests running beside it would disturb.
@Suite(.serialized) struct DBusTests {}
