import ArgumentParser
import SIF
import SifterCore

/// Low-level SIF editing, mirroring the reference `siftool` verbs.
struct SIFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sif",
        abstract: "Create and edit SIF files object by object (like siftool).",
        subcommands: [New.self, Add.self, Delete.self, SetPrimary.self]
    )

    struct Stamp: ParsableArguments {
        @Flag(help: "Nil UUID and Go's zero time, as the reference's deterministic mode.") var deterministic = false
        @Option(help: "Time to record, in Unix seconds (default: now).") var time: Int64?

        var resolved: Int64? { deterministic ? Layout.deterministicTime : time }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty SIF file.")
        @Argument(help: "The SIF file to create.") var file: String
        @Option(help: "Launch script (under 32 bytes).") var launchScript = Layout.defaultLaunchScript
        @Option(help: "Image UUID (default: random).") var id: String?
        @Option(help: "Number of descriptor slots.") var capacity: Int64 = Layout.defaultDescriptorCapacity
        @Flag(help: "Replace an existing file.") var force = false
        @OptionGroup var stamp: Stamp

        func run() throws {
            var options = CreateOptions()
            options.launchScript = launchScript
            options.deterministic = stamp.deterministic
            options.time = stamp.time
            options.descriptorCapacity = capacity
            if let id {
                guard let bytes = UUIDText.parse(id) else { throw SifterError.invalidArgument("\"\(id)\" is not a UUID") }
                options.id = bytes
            }
            try AtomicOutput(destination: file, replace: force).write { path in
                try SIFImage.create(path: path, options: options).close()
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an object to a SIF file.")
        @Argument(help: "The SIF file.") var file: String
        @Argument(help: "The file holding the object's data.") var object: String
        @Option(help: "Object type: deffile, envvar, labels, partition, signature, genericJSON, generic, cryptoMessage, sbom, ociRootIndex, ociBlob.")
        var type: String
        @Option(help: "Object name.") var name = ""
        @Option(help: "Object group (0: none).") var group: UInt32 = 1
        @Option(help: "Link to this object ID.") var linkObject: UInt32?
        @Option(help: "Link to this group ID.") var linkGroup: UInt32?
        @Option(help: "Byte alignment (default: 4096 for partitions, none otherwise).") var alignment: Int?
        @Option(help: "Partition file system: squashfs, ext3, archive, raw, encryptedSquashfs.") var fs = "squashfs"
        @Option(help: "Partition type: system, primSys, data, overlay.") var part = "system"
        @Option(help: "Partition architecture (Go name: amd64, arm64, …).") var arch: String?
        @Option(help: "Signature hash: sha256, sha384, sha512, blake2s256, blake2b256.") var hash = "sha256"
        @Option(help: "Signer fingerprint, hex.") var entity: String?
        @Option(help: "Message format (openpgp, pem) or SBOM format (cyclonedx-json, spdx-json, …).") var format: String?
        @Option(help: "Message type: clearSignature, rsaOaep.") var message = "clearSignature"
        @Option(help: "Blob digest for OCI objects (sha256:<hex>).") var digest: String?
        @OptionGroup var stamp: Stamp

        func run() throws {
            var spec = ObjectSpec(type: type, file: object)
            spec.name = name
            spec.group = group
            spec.linkObject = linkObject
            spec.linkGroup = linkGroup
            spec.alignment = alignment
            spec.fs = fs
            spec.part = part
            spec.arch = arch
            spec.hash = hash
            spec.entity = entity
            spec.format = format
            spec.message = message
            spec.digest = digest
            spec.time = stamp.resolved
            let image = try SIFImage.load(path: file, writable: true)
            let added = try image.add(try spec.objectInput(), time: stamp.resolved)
            try image.close()
            printOut("added object \(added.id)\n")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete an object from a SIF file.")
        @Argument(help: "Object ID.") var id: UInt32
        @Argument(help: "The SIF file.") var file: String
        @Flag(help: "Overwrite the object's data with zeros.") var zero = false
        @Flag(help: "Truncate the file when the object is the last one.") var compact = false
        @OptionGroup var stamp: Stamp

        func run() throws {
            let image = try SIFImage.load(path: file, writable: true)
            try image.delete(id: id, zero: zero, compact: compact, time: stamp.resolved)
            try image.close()
        }
    }

    struct SetPrimary: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "setprim", abstract: "Make a system partition the primary one.")
        @Argument(help: "Partition object ID.") var id: UInt32
        @Argument(help: "The SIF file.") var file: String
        @OptionGroup var stamp: Stamp

        func run() throws {
            let image = try SIFImage.load(path: file, writable: true)
            try image.setPrimaryPartition(id: id, time: stamp.resolved)
            try image.close()
        }
    }
}
