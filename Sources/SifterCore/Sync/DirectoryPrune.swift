import Foundation
import SIF

/// `sync --prune`: SIFs in the wishlist's directories that no item names any more (an image
/// dropped from the list, a tag no longer in its range). Only files sifter wrote are removed:
/// `*.sif` directly in the directory, not hidden, regular, with sifter's provenance object;
/// anything else there is left alone.
public enum DirectoryPrune {
    /// The files to remove for `plan` (the whole wishlist's plan, not a shard's: every shard
    /// must agree on what is kept). Removed unless `dryRun`.
    public static func prune(_ plan: SyncPlan, dryRun: Bool) throws -> [String] {
        var wanted = Set<String>()
        for item in plan.items {
            if case let .files(_, files) = item.output { wanted.formUnion(files.map(\.path)) }
        }
        var removed: [String] = []
        for directory in plan.directories {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
                continue  // not created yet: nothing to prune
            }
            for name in names.sorted() where name.hasSuffix(".sif") && !name.hasPrefix(".") {
                let path = directory + "/" + name
                guard !wanted.contains(path), isSifterOutput(path) else { continue }
                if !dryRun {
                    guard unlink(path) == 0 || errno == ENOENT else {
                        throw SifterError.io(path: path, operation: "remove", reason: String(cString: strerror(errno)))
                    }
                }
                removed.append(path)
            }
        }
        return removed
    }

    static func isSifterOutput(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let image = try? SIFImage.load(path: path) else { return false }
        defer { try? image.close() }
        return (try? RecordedProvenance.load(from: image)) != nil
    }
}
