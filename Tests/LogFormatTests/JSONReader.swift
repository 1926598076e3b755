import Foundation

/// Reads a flat JSON object of strings with Foundation's parser, independent of the encoder under test.
enum JSONReader {
    static func object(_ text: String) -> [String: String]? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return nil }
        return value as? [String: String]
    }
}
