import OCISpec
import Testing

/// Decoding failures read as sentences with the field's path, never as Swift's DecodingError dump.
struct DocumentErrorTests {
    static func reason(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "decoded"
        } catch {
            return String(describing: error)
        }
    }

    @Test func namesTheMissingField() {
        let text = Self.reason { _ = try ImageConfig.decode(Array(#"{"architecture":"amd64","os":"linux"}"#.utf8)) }
        #expect(text == #"invalid image config: missing field "rootfs""#)
        let nested = Self.reason { _ = try ImageConfig.decode(Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}"#.utf8)) }
        #expect(nested == #"invalid image config: missing field "rootfs.diff_ids""#)
    }

    @Test func namesTheWrongType() {
        let text = Self.reason { _ = try Manifest.decode(Array(#"{"schemaVersion":2,"config":{"mediaType":1,"digest":"x","size":1},"layers":[]}"#.utf8)) }
        #expect(text == #"invalid manifest: field "config.mediaType" is not a string"#)
        let array = Self.reason { _ = try Index.decode(Array("[]".utf8)) }
        #expect(array == "invalid image index: the document is not an object")
        #expect(!array.contains("DecodingError"))
    }

    @Test func keepsTheDigestMessage() {
        let text = Self.reason { _ = try Index.decode(Array(#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"md5:00","size":1}]}"#.utf8)) }
        #expect(text.contains("manifests[0].digest"))
        #expect(text.contains("invalid digest \"md5:00\""))
        #expect(!text.contains("CodingKeys"))
    }

    @Test func notJSON() {
        let text = Self.reason { _ = try Manifest.decode(Array("not json".utf8)) }
        #expect(text.hasPrefix("invalid manifest: not valid JSON"))
    }
}
