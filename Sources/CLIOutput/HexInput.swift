/// Hex text as people paste it from captures: any case, spaces and tabs anywhere.
public enum HexInput {
    public enum ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        case empty
        case invalidCharacter(Character, position: Int)
        case oddDigitCount(Int)

        public var description: String {
            switch self {
            case .empty: "no hex digits"
            case let .invalidCharacter(character, position):
                "'\(character)' at position \(position) is not a hex digit"
            case let .oddDigitCount(count): "odd number of hex digits (\(count)): a byte needs two"
            }
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> [UInt8] {
        var nibbles: [UInt8] = []
        nibbles.reserveCapacity(text.utf8.count)
        for (position, character) in text.enumerated() {
            if character.isWhitespace { continue }
            guard let value = character.hexDigitValue, character.isASCII else {
                throw .invalidCharacter(character, position: position + 1)
            }
            nibbles.append(UInt8(value))
        }
        guard !nibbles.isEmpty else { throw .empty }
        guard nibbles.count % 2 == 0 else { throw .oddDigitCount(nibbles.count) }
        return stride(from: 0, to: nibbles.count, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
    }
}
