/// The JBD checksum: the two's complement of the byte sum, truncated to 16 bits.
///
/// The sum covers everything between the start/direction bytes and the checksum itself:
/// the register and length of a request, or the status and length of a reply, plus data.
@inlinable
public func jbdChecksum<C: Collection>(_ summed: C) -> UInt16 where C.Element == UInt8 {
    var sum: UInt32 = 0
    for byte in summed { sum &+= UInt32(byte) }
    return UInt16(truncatingIfNeeded: 0x10000 &- sum)
}
