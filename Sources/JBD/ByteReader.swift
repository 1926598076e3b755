/// Big-endian reads at fixed offsets of a payload whose length was checked beforehand.
struct ByteReader {
    let bytes: [UInt8]

    func u8(_ offset: Int) -> UInt8 { bytes[offset] }

    func u16(_ offset: Int) -> UInt16 { UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1]) }

    func s16(_ offset: Int) -> Int16 { Int16(bitPattern: u16(offset)) }
}
