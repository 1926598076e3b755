extension SerialPort {
    /// Opens `path` on a thread of its own: open() on a USB-UART bridge that is being unplugged
    /// can wait in the driver, and that wait must not hold a thread of the cooperative pool.
    public static func open(path: String, baud: BaudRate = .standard) async throws(SerialPortError) -> SerialPort {
        let result = await onDedicatedThread {
            Result { () throws(SerialPortError) -> SerialPort in try SerialPort(path: path, baud: baud) }
        }
        return try result.get()
    }
}
