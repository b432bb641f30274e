import Testing
@testable import SIF

@Suite struct ReadTests {
    @Test func readsTwoGroupsSigned() throws {
        let image = try SIFImage.load(path: Fixture.path("two-groups-signed.sif"))
        #expect(image.header.version == "01")
        #expect(image.header.arch.goName == "386")
        #expect(image.header.idString == "00000000-0000-0000-0000-000000000000")
        #expect(image.header.createdAt == Layout.deterministicTime)
        #expect(image.header.descriptorsTotal == 48)
        #expect(image.header.descriptorsFree == 43)
        #expect(image.header.dataOffset == 32176)
        let objects = image.descriptors
        #expect(objects.map(\.id) == [1, 2, 3, 4, 5])
        #expect(objects.map(\.dataType) == [.partition, .partition, .partition, .signature, .signature])
        #expect(objects.map(\.groupID) == [1, 1, 2, nil, nil])
        #expect(objects[3].link == .group(1))
        #expect(objects[4].link == .group(2))
        #expect(objects.map(\.offset) == [32768, 36864, 40960, 303104, 304158])
        #expect(objects[1].partition?.fs == .squash)
        #expect(objects[1].isPrimaryPartition)
        #expect(objects[2].partition?.arch.goName == "amd64")
        if case let .signature(hash, entity)? = objects[3].metadata {
            #expect(hash == .sha256)
            #expect(entity.prefix(20).contains { $0 != 0 })
        } else {
            Issue.record("object 4 has no signature metadata")
        }
    }

    @Test func readsEveryFixture() throws {
        let names = ["empty.sif", "empty-id.sif", "empty-launch-script.sif", "one-object-time.sif",
                     "one-object-generic-json.sif", "one-object-crypt-message.sif", "one-object-sbom.sif",
                     "one-group.sif", "one-group-signed.sif", "two-groups.sif", "two-groups-signed.sif",
                     "one-group-signed-legacy.sif", "one-group-signed-legacy-all.sif",
                     "one-group-signed-legacy-group.sif", "two-groups-signed-legacy.sif",
                     "two-groups-signed-legacy-all.sif", "two-groups-signed-legacy-group.sif"]
        for name in names {
            let image = try SIFImage.load(path: Fixture.path(name))
            #expect(Int64(image.descriptors.count) == image.header.descriptorsTotal - image.header.descriptorsFree, "\(name)")
        }
        #expect(try SIFImage.load(path: Fixture.path("empty-id.sif")).header.idString == "3fa802cc-358b-45e3-bcc0-69dc7a45f9f8")
        #expect(try SIFImage.load(path: Fixture.path("empty-launch-script.sif")).header.launchScript == "#!/usr/bin/env run-script\n")
        #expect(try SIFImage.load(path: Fixture.path("one-object-time.sif")).header.createdAt == 1_593_475_316)
    }

    @Test func selectsByTypeGroupIDNameAndLink() throws {
        let image = try SIFImage.load(path: Fixture.path("two-groups-signed.sif"))
        #expect(image.descriptors(matching: [.dataType(.partition)]).map(\.id) == [1, 2, 3])
        #expect(image.descriptors(matching: [.group(1)]).map(\.id) == [1, 2])
        #expect(image.descriptors(matching: [.noGroup]).map(\.id) == [4, 5])
        #expect(image.descriptors(matching: [.linkedGroup(2)]).map(\.id) == [5])
        #expect(try image.descriptor(matching: [.partitionType(.primarySystem)]).id == 2)
        #expect(try image.descriptor(matching: [.id(3)]).partition?.fs == .ext3)
        #expect(throws: SIFError.self) { try image.descriptor(matching: [.dataType(.partition)]) }
        #expect(throws: SIFError.self) { try image.descriptor(matching: [.name("missing")]) }
        let json = try SIFImage.load(path: Fixture.path("one-object-generic-json.sif"))
        #expect(try json.descriptor(matching: [.name("data.json")]).id == 1)
    }

    @Test func streamsObjectDataInChunks() throws {
        let image = try SIFImage.load(path: Fixture.path("two-groups.sif"))
        let ext3 = try image.descriptor(matching: [.id(3)])
        var reader = image.reader(for: ext3)
        var collected: [UInt8] = []
        var chunks = 0
        try reader.forEachChunk(chunkSize: 10_000) { chunk in
            #expect(chunk.count <= 10_000)
            collected += chunk
            chunks += 1
        }
        #expect(chunks == 27)
        #expect(collected == (try Fixture.bytes("root.ext3")))
        #expect(try image.data(of: try image.descriptor(matching: [.id(1)])) == [0xFA, 0xCE, 0xFE, 0xED])
        #expect(throws: SIFError.self) { try image.data(of: ext3, limit: 1000) }
    }
}
