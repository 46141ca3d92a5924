import Fluent
import Foundation
@testable import TandemServer
import Testing

/// Each model's listed properties (`ModelProperties`) are exactly the ones reflection finds, in
/// its order: a property added to a model and not to its list would be neither read nor saved.
@Suite("Model properties")
struct ModelPropertiesTests {
    @Test("every model lists the properties reflection finds, in declaration order", arguments: ModelProperties.models.map(Box.init))
    func listed(model: Box) {
        let instance = model.type.init()
        let reflected = Mirror(reflecting: instance).children.compactMap { $0.value as? any AnyProperty }
        #expect(!reflected.isEmpty)
        #expect(instance.properties.map { ObjectIdentifier($0 as AnyObject) } == reflected.map { ObjectIdentifier($0 as AnyObject) },
                "\(model.type): listed \(instance.properties.count), reflected \(reflected.count)")
    }

    @Test("the list holds every model file's models")
    func complete() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/TandemServer/Models")
        var declared: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".swift") {
            let source = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for match in source.matches(of: /final class (\w+): Model\b/) { declared.insert(String(match.1)) }
        }
        #expect(declared.count > 20)
        #expect(Set(ModelProperties.models.map { "\($0)" }) == declared)
    }

    /// Test arguments must be Sendable and describable; a metatype alone is not.
    struct Box: Sendable, CustomTestStringConvertible {
        let type: any Model.Type
        var testDescription: String { "\(type)" }
    }
}
