import ArgumentParser
import Distribution
import Foundation
import OCISpec
import SifterCore

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete old tags of a repository by a retention policy (keep the newest N, delete older than D).",
        discussion: """
        The tags are listed (following Link pages), each one's created time read (the \
        manifest's org.opencontainers.image.created annotation, else its image config's), and \
        what the policy selects is deleted by digest through the distribution API. A digest \
        that a kept tag also reaches (the same manifest, or a platform of a kept index) is never \
        deleted; a tag without a created time is never deleted. --dry-run deletes nothing. \
        GHCR and Docker Hub do not delete through the registry API: use GitHub's packages API \
        (dataaxiom/ghcr-cleanup-action, actions/delete-package-versions) or Docker Hub's.
        """
    )

    @Argument(help: "oras://REGISTRY/REPOSITORY (docker:// works too).") var repository: String
    @Option(help: "Only tags matching this shell glob are candidates (repeatable; default: every tag).") var match: [String] = []
    @Option(help: "Keep the N newest candidates.") var keep: Int?
    @Option(help: "Delete candidates created longer ago than this (e.g. 14d, 2w, 12h).") var olderThan: String?
    @Flag(help: "Also delete the per-platform manifests of deleted indexes that no kept tag reaches.") var untagged = false
    @Flag(help: "Only say what would be deleted.") var dryRun = false
    @Option(help: "Tags per page when listing (the registry's default when not given).") var pageSize: Int?
    @Flag(help: "Print a JSON report.") var json = false
    @OptionGroup var registry: RegistryFlags

    func validate() throws {
        if let keep, keep < 0 { throw ValidationError("--keep cannot be negative") }
        if let pageSize, pageSize < 1 { throw ValidationError("--page-size must be at least 1") }
    }

    func run() throws {
        guard keep != nil || olderThan != nil else { throw PruneError.noPolicy }
        guard repository.hasPrefix("oras://") || repository.hasPrefix("docker://") else {
            throw SifterError.invalidArgument("\(repository): name the repository as oras://REGISTRY/REPOSITORY")
        }
        let reference = try ImageReference.parse(repository)
        let policy = RetentionPolicy(match: match, keep: keep, olderThan: try olderThan.map(BlobCache.parseDuration), untagged: untagged)
        let pruner = TagPruner(client: try registry.client(for: reference.registry), repository: reference, policy: policy, pageSize: pageSize)
        let plan = try pruner.plan()
        var deleted: [Digest] = []
        if !dryRun {
            try pruner.execute(plan) { digest in
                deleted.append(digest)
                if !json { printOut("deleted \(reference.name)@\(digest)\n") }
            }
        }
        if json {
            printOut(report(plan, deleted: deleted, name: reference.name).rendered() + "\n")
            return
        }
        for (record, decision) in plan.tags {
            let created = record.created.map(UnixTime.iso8601) ?? "no created time"
            printOut("\(decision.deletes ? (dryRun ? "would delete" : "delete") : "keep")  \(record.tag)  \(created)  \(record.digest.short)"
                + Self.reason(decision) + "\n")
        }
        for digest in plan.untagged { printOut("\(dryRun ? "would delete" : "delete")  untagged \(digest)\n") }
        printOut(dryRun ? "dry run: \(plan.digests.count) manifests would be deleted; nothing was\n"
            : "\(deleted.count) manifests deleted from \(reference.name)\n")
    }

    static func reason(_ decision: PrunePlan.Decision) -> String {
        switch decision {
        case .delete: ""
        case .keepUnmatched: "  (not matched)"
        case let .keepNewest(rank): "  (newest #\(rank))"
        case .keepRecent: "  (recent)"
        case .keepUndated: "  (no created time: never deleted)"
        case let .keepShared(tags): "  (its digest is also reached by kept \(tags.joined(separator: ", ")))"
        }
    }

    func report(_ plan: PrunePlan, deleted: [Digest], name: String) -> JSONValue {
        let tags: [JSONValue] = plan.tags.map { record, decision in
            var members: [(String, JSONValue)] = [
                ("tag", .string(record.tag)), ("digest", .string(record.digest.description)),
                ("created", record.created.map { .string(UnixTime.iso8601($0)) } ?? .null),
                ("delete", .bool(decision.deletes)),
            ]
            let reason = Self.reason(decision).trimmingCharacters(in: CharacterSet(charactersIn: " ()"))
            if !reason.isEmpty { members.append(("kept", .string(reason))) }
            return .object(members)
        }
        return .object([
            ("repository", .string(name)), ("dryRun", .bool(dryRun)), ("tags", .array(tags)),
            ("untagged", .array(plan.untagged.map { .string($0.description) })),
            ("toDelete", .array(plan.digests.map { .string($0.description) })),
            ("deleted", .array(deleted.map { .string($0.description) })),
        ])
    }
}
