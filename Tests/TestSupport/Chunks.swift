/// `bytes` cut as BLE notifications deliver them: at most 20 bytes each (ATT MTU 23).
public func notificationChunks(_ bytes: [UInt8], size: Int = 20) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: max(1, size)).map { Array(bytes[$0..<min($0 + max(1, size), bytes.count)]) }
}
