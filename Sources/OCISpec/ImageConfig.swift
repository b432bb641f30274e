import Foundation

/// The image configuration (image-spec `config.md`); unknown fields are ignored.
public struct ImageConfig: Codable, Hashable, Sendable {
    public var created: String?
    public var author: String?
    public var architecture: String
    public var os: String
    public var variant: String?
    public var config: Config?
    public var rootfs: RootFS
    public var history: [History]?

    public struct Config: Codable, Hashable, Sendable {
        public var User: String?
        public var ExposedPorts: [String: Empty]?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var Volumes: [String: Empty]?
        public var WorkingDir: String?
        public var Labels: [String: String]?
        public var StopSignal: String?
        public var Shell: [String]?
        public var Healthcheck: Healthcheck?

        public init() {}
    }

    public struct Healthcheck: Codable, Hashable, Sendable {
        public var Test: [String]?
        public var Interval: Int64?
        public var Timeout: Int64?
        public var StartPeriod: Int64?
        public var Retries: Int?
    }

    /// `{}` values of ExposedPorts/Volumes.
    public struct Empty: Codable, Hashable, Sendable {
        public init() {}
    }

    public struct RootFS: Codable, Hashable, Sendable {
        public var type: String
        public var diff_ids: [Digest]

        public init(diffIDs: [Digest]) {
            type = "layers"
            diff_ids = diffIDs
        }
    }

    public struct History: Codable, Hashable, Sendable {
        public var created: String?
        public var created_by: String?
        public var empty_layer: Bool?
        public var comment: String?
    }

    public var platform: Platform { Platform(os: os, architecture: architecture, variant: variant) }

    public static func decode(_ bytes: [UInt8]) throws -> ImageConfig {
        try decodeDocument(ImageConfig.self, what: "image config", from: bytes)
    }
}
