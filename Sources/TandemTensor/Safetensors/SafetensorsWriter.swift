import Foundation

/// Writes tensors in the safetensors format (the counterpart of `SafetensorsFile`), used for
/// Tandem's own model artifacts so that they load with the same validated, memory-mapped reader.
public struct SafetensorsWriter {
    public enum Values {
        case float32([Float])
        case int32([Int32])
    }

    private var entries: [(name: String, shape: [Int], values: Values)] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], _ values: Values) {
        let count: Int
        switch values {
        case .float32(let v): count = v.count
        case .int32(let v): count = v.count
        }
        precondition(shape.reduce(1, *) == count, "\(name): shape \(shape) does not match \(count) values")
        entries.append((name, shape, values))
    }

    public func data() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var body = Data()
        for entry in entries {
            let begin = body.count
            let dtype: String
            switch entry.values {
            case .float32(let v):
                dtype = "F32"
                v.withUnsafeBufferPointer { body.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: UInt8.self), count: v.count * 4)) }
            case .int32(let v):
                dtype = "I32"
                v.withUnsafeBufferPointer { body.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress)?.assumingMemoryBound(to: UInt8.self), count: v.count * 4)) }
            }
            header[entry.name] = ["dtype": dtype, "shape": entry.shape, "data_offsets": [begin, body.count]]
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header so tensor data starts 8-byte aligned (as the reference writer does).
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        return Data(bytes: &length, count: 8) + json + body
    }
}
