import ArgumentParser
import Distribution
import Foundation
import SifterCore

/// `sifter cache ls|prune`: the content-addressed blob cache shared by every build.
struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List or prune the blob cache.",
        subcommands: [List.self, Prune.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "Blob cache directory (default: $SIFTER_CACHE_DIR, else $XDG_CACHE_HOME/sifter, else ~/.cache/sifter).")
        var cacheDir: String?

        func cache() throws -> BlobCache { try BlobCache(root: cacheDir ?? BlobCache.defaultRoot()) }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List cached blobs, least recently used first.")
        @OptionGroup var location: Location
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let cache = try location.cache()
            let entries = try cache.list(includingPartials: true).sorted { $0.lastUsed < $1.lastUsed }
            if json {
                let items: [JSONValue] = entries.map {
                    .object([("digest", .string($0.digest.description)), ("size", .int($0.size)),
                             ("lastUsed", .int(Int64($0.lastUsed.timeIntervalSince1970))), ("path", .string($0.path)),
                             ("partial", .bool($0.partial))])
                }
                printOut(JSONValue.object([("root", .string(cache.root)), ("blobs", .array(items))]).rendered() + "\n")
                return
            }
            for entry in entries {
                let partial = entry.partial ? (entry.inUse ? "  partial (downloading)" : "  partial") : ""
                printOut("\(entry.digest)  \(ByteCount.text(entry.size))  \(UnixTime.iso8601(Int64(entry.lastUsed.timeIntervalSince1970)))\(partial)\n")
            }
            let partials = entries.filter(\.partial).count
            printOut("\(entries.count - partials) blobs\(partials > 0 ? " and \(partials) partial downloads" : ""), "
                + "\(ByteCount.text(entries.reduce(0) { $0 + $1.size })) in \(cache.root)\n")
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove blobs by age or to fit a size.")
        @OptionGroup var location: Location
        @Option(help: "Keep the cache under this size (e.g. 10GiB, 500M); least recently used go first.") var maxSize: String?
        @Option(help: "Remove blobs unused for this long (e.g. 7d, 12h).") var olderThan: String?
        @Flag(help: "Only say what would be removed.") var dryRun = false

        func run() throws {
            let cache = try location.cache()
            let report = try cache.prune(
                maxSize: try maxSize.map(BlobCache.parseSize), olderThan: try olderThan.map(BlobCache.parseDuration), dryRun: dryRun)
            for entry in report.removed { printOut("\(dryRun ? "would remove" : "removed") \(entry.digest) (\(ByteCount.text(entry.size)))\n") }
            if report.partialsRemoved > 0 { printOut("\(dryRun ? "would remove" : "removed") \(report.partialsRemoved) partial downloads\n") }
            printOut("\(dryRun ? "would free" : "freed") \(ByteCount.text(report.freedBytes)); \(report.remainingCount) blobs, \(ByteCount.text(report.remainingBytes)) remain\n")
        }
    }
}
