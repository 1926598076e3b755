import JBD

/// What `bms_exporter decode` does with one argument: hex → one frame → JSON.
public enum FrameDecoding {
    /// Why an argument did not decode, worded for the person who pasted it.
    public enum Failure: Error, Hashable, Sendable, CustomStringConvertible {
        case hex(HexInput.ParseError)
        case frame(FrameError)
        case contents(DecodeError)

        public var description: String {
            switch self {
            case let .hex(error): "malformed hex: \(error)"
            case let .frame(error): "malformed frame: \(error)"
            case let .contents(error): "undecodable frame: \(error)"
            }
        }
    }

    public static func decode(hex text: String) -> Result<JSONValue, Failure> {
        let bytes: [UInt8]
        do { bytes = try HexInput.parse(text) } catch { return .failure(.hex(error)) }
        let frame: Frame
        do { frame = try Frame.parse(bytes) } catch { return .failure(.frame(error)) }
        do { return .success(ReplyJSON.frameObject(try Reply(decoding: frame))) } catch {
            return .failure(.contents(error))
        }
    }
}
