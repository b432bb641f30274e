import Testing
@testable import SIF

@Suite struct ModifyTests {
    func partition(_ bytes: [UInt8], _ part: PartType, arch: String = "amd64", group: UInt32? = 1) throws -> ObjectInput {
        try ObjectInput(.partition, source: .bytes(bytes), group: group,
                        metadata: .partition(fs: .squash, part: part, arch: Arch(goName: arch)!))
    }

    @Test func addDeleteSetPrimaryAndReload() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("m.sif")
        var options = CreateOptions()
        options.time = 1000
        options.launchScript = Layout.defaultLaunchScript
        let image = try SIFImage.create(path: path, options: options, objects: [
            try ObjectInput(.deffile, source: .bytes(Array("bootstrap: docker\n".utf8))),
            try partition([1, 2, 3], .primarySystem),
        ])
        #expect(image.header.arch.goName == "amd64")
        #expect(image.header.idString != "00000000-0000-0000-0000-000000000000")
        let second = try image.add(try partition([4, 5], .system, arch: "arm64", group: 2), time: 2000)
        #expect(second.id == 3)
        #expect(second.offset % 4096 == 0)
        #expect(image.header.modifiedAt == 2000)

        // Adding a second primary is refused and leaves the image unchanged.
        #expect(throws: SIFError.self) { try image.add(try partition([9], .primarySystem)) }
        try image.setPrimaryPartition(id: 3, time: 3000)
        #expect(image.header.arch.goName == "arm64")
        try image.delete(id: 1, time: 4000)
        try image.add(try ObjectInput(.labels, source: .bytes(Array("{}".utf8)), link: .object(3)), time: 5000)
        try image.close()

        let reloaded = try SIFImage.load(path: path)
        #expect(reloaded.header.launchScript == Layout.defaultLaunchScript)
        #expect(reloaded.header.arch.goName == "arm64")
        #expect(reloaded.header.modifiedAt == 5000)
        #expect(reloaded.header.descriptorsFree == 45)
        #expect(reloaded.descriptors.map(\.id) == [1, 2, 3])
        #expect(reloaded.descriptors.map(\.dataType) == [.labels, .partition, .partition])
        #expect(reloaded.descriptors[0].link == .object(3))
        #expect(reloaded.descriptors[1].partition?.part == .system)
        #expect(reloaded.descriptors[2].partition?.part == .primarySystem)
        #expect(reloaded.descriptors[2].groupID == 2)
        #expect(try reloaded.data(of: reloaded.descriptors[1]) == [1, 2, 3])
    }

    @Test func deleteCompactsOnlyTheLastObjectAndZeroes() throws {
        let scratch = try ScratchDirectory()
        let path = scratch.file("c.sif")
        let image = try SIFImage.create(path: path, objects: [
            try ObjectInput(.generic, source: .bytes([7, 7, 7])),
            try ObjectInput(.generic, source: .bytes([8, 8])),
        ])
        #expect(throws: SIFError.self) { try image.delete(id: 1, compact: true) }
        let lastEnd = image.descriptors[1].offset
        try image.delete(id: 2, zero: true, compact: true)
        #expect(try readFile(path).count == Int(lastEnd))
        try image.delete(id: 1, zero: true)
        try image.close()
        let reloaded = try SIFImage.load(path: path)
        #expect(reloaded.descriptors.isEmpty)
        #expect(try readFile(path).suffix(3) == [0, 0, 0])
        #expect(reloaded.header.arch == .unknown)
    }

    @Test func rejectsBadInputs() throws {
        #expect(throws: SIFError.self) { try ObjectInput(.generic, source: .bytes([]), name: String(repeating: "n", count: 129)) }
        #expect(throws: SIFError.self) { try ObjectInput(.generic, source: .bytes([]), group: 0) }
        #expect(throws: SIFError.self) { try ObjectInput(.generic, source: .bytes([]), metadata: .sbom(format: .spdxJSON)) }
        var options = CreateOptions()
        options.launchScript = String(repeating: "x", count: 32)
        let scratch = try ScratchDirectory()
        #expect(throws: SIFError.self) { try SIFImage.create(path: scratch.file("x.sif"), options: options) }
        options = CreateOptions()
        options.descriptorCapacity = 1
        let full = try SIFImage.create(path: scratch.file("y.sif"), options: options,
                                       objects: [try ObjectInput(.generic, source: .bytes([1]))])
        #expect(throws: SIFError.noSpace(path: scratch.file("y.sif"), capacity: 1)) {
            try full.add(try ObjectInput(.generic, source: .bytes([2])))
        }
        let readOnly = try SIFImage.load(path: Fixture.path("empty.sif"))
        #expect(throws: SIFError.notWritable(path: Fixture.path("empty.sif"))) {
            try readOnly.add(try ObjectInput(.generic, source: .bytes([2])))
        }
    }
}
