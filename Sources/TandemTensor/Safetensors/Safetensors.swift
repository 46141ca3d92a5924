import Foundation

/// Reader for the safetensors format (https://huggingface.co/docs/safetensors):
/// an 8-byte little-endian header length N, N bytes of JSON describing each tensor
/// (`dtype`, `shape`, `data_offsets` relative to the end of the header), then the raw data.
///
/// The header is validated in full before any tensor is used: offsets inside the file,
/// sizes consistent with shape and dtype, no overlaps. Tensors of any dtype may be listed
/// (MiniLM's checkpoint carries an I64 `position_ids`); asking for one as F32 that is not
/// F32 is a typed error.
public final class SafetensorsFile: @unchecked Sendable {
    public struct TensorInfo: Equatable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let file: MappedFile
    private let dataStart: Int

    /// Bytes per element for the dtypes safetensors defines.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    /// Largest header the format allows (the reference implementation's limit).
    static let maxHeaderSize = 100_000_000

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Reads safetensors bytes held in memory; `name` stands for the path in errors.
    public convenience init(data: Data, name: String) throws {
        try self.init(file: MappedFile(copying: data, name: name))
    }

    public init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        guard file.count >= 8 else {
            throw SafetensorsError.invalid(path: path, reason: "file is \(file.count) bytes, shorter than the 8-byte header length")
        }
        var headerLength: UInt64 = 0
        withUnsafeMutableBytes(of: &headerLength) { $0.copyMemory(from: UnsafeRawBufferPointer(start: file.bytes, count: 8)) }
        headerLength = UInt64(littleEndian: headerLength)
        guard headerLength <= UInt64(Self.maxHeaderSize), Int(headerLength) <= file.count - 8 else {
            throw SafetensorsError.invalid(path: path, reason: "header length \(headerLength) exceeds the file size \(file.count) (truncated download?)")
        }
        dataStart = 8 + Int(headerLength)
        let headerData = Data(bytes: file.bytes + 8, count: Int(headerLength))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw SafetensorsError.invalid(path: path, reason: "header is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw SafetensorsError.invalid(path: path, reason: "header is not a JSON object")
        }
        let dataSize = file.count - dataStart
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value as? [String: Any] ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any],
                  let offsetValues = entry["data_offsets"] as? [Any], offsetValues.count == 2
            else {
                throw SafetensorsError.invalid(path: path, reason: "tensor '\(name)' lacks dtype, shape or data_offsets")
            }
            let shape = try shapeValues.map { try Self.nonNegativeInt($0, path: path, what: "shape of '\(name)'") }
            let begin = try Self.nonNegativeInt(offsetValues[0], path: path, what: "data_offsets of '\(name)'")
            let end = try Self.nonNegativeInt(offsetValues[1], path: path, what: "data_offsets of '\(name)'")
            guard let elementSize = Self.dtypeSizes[dtype] else {
                throw SafetensorsError.invalid(path: path, reason: "tensor '\(name)' has unknown dtype \(dtype)")
            }
            guard begin <= end, end <= dataSize else {
                throw SafetensorsError.invalid(path: path, reason: "tensor '\(name)' spans bytes \(begin)..<\(end) but the data section has \(dataSize) bytes (truncated file?)")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw SafetensorsError.invalid(path: path, reason: "tensor '\(name)' shape \(shape) overflows")
                }
                elements = product
            }
            guard elements * elementSize == end - begin else {
                throw SafetensorsError.invalid(path: path, reason: "tensor '\(name)' of shape \(shape) and dtype \(dtype) needs \(elements * elementSize) bytes, data_offsets give \(end - begin)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, range: begin..<end)
        }
        // Overlapping tensors would mean a corrupt or malicious header.
        let sorted = tensors.values.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.range.upperBound > b.range.lowerBound {
            throw SafetensorsError.invalid(path: path, reason: "tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func nonNegativeInt(_ value: Any, path: String, what: String) throws -> Int {
        if let n = value as? Int, n >= 0 { return n }
        if let n = value as? NSNumber, n.doubleValue >= 0, n.doubleValue == n.doubleValue.rounded(), n.doubleValue < 1e15 {
            return n.intValue
        }
        throw SafetensorsError.invalid(path: path, reason: "\(what) is not a non-negative integer")
    }

    /// An I32 tensor's values, checked against the expected shape.
    public func int32(_ name: String, shape expected: [Int]) throws -> [Int32] {
        guard let info = tensors[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        guard info.dtype == "I32" else { throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: info.dtype) }
        guard info.shape == expected else {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expected, actual: info.shape)
        }
        var values = [Int32](repeating: 0, count: info.range.count / 4)
        values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: file.bytes + dataStart + info.range.lowerBound, count: info.range.count)) }
        return values
    }

    /// See `MappedFile.releaseResidentPages`.
    public func releaseResidentPages() { file.releaseResidentPages() }

    /// See `MappedFile.adviseScatteredReads`.
    public func adviseScatteredReads() { file.adviseScatteredReads() }

    /// An F32 tensor, checked against the shape the caller expects.
    public func float32(_ name: String, shape expected: [Int]) throws -> Tensor {
        guard let info = tensors[name] else { throw SafetensorsError.missingTensor(path: path, tensor: name) }
        guard info.dtype == "F32" else {
            throw SafetensorsError.unsupportedDType(path: path, tensor: name, dtype: info.dtype)
        }
        guard info.shape == expected else {
            throw SafetensorsError.shapeMismatch(path: path, tensor: name, expected: expected, actual: info.shape)
        }
        let start = file.bytes + dataStart + info.range.lowerBound
        if Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
            return Tensor(shape: info.shape, mapped: file, at: start.assumingMemoryBound(to: Float.self))
        }
        // Misaligned data (allowed by the format) is copied once rather than read unaligned.
        var copy = [Float](repeating: 0, count: info.range.count / 4)
        copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: start, count: info.range.count)) }
        return Tensor(shape: info.shape, values: copy)
    }
}

/// A read-only float tensor: either a view into a mapped file or memory it owns.
/// Either way `pointer` stays valid for the tensor's lifetime, because the tensor keeps its
/// owner (the mapping or the allocation) alive.
public struct Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let pointer: UnsafePointer<Float>
    private let owner: AnyObject

    init(shape: [Int], mapped file: MappedFile, at pointer: UnsafePointer<Float>) {
        self.shape = shape
        self.pointer = pointer
        owner = file
    }

    /// A tensor over memory owned by `owner` (an arena), which the tensor keeps alive.
    public init(shape: [Int], pointer: UnsafePointer<Float>, owner: AnyObject) {
        self.shape = shape
        self.pointer = pointer
        self.owner = owner
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not match \(values.count) values")
        let storage = FloatStorage(values)
        self.shape = shape
        pointer = UnsafePointer(storage.pointer)
        owner = storage
    }

    public var count: Int { shape.reduce(1, *) }
    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
}

/// A fixed heap allocation of floats whose address never moves.
final class FloatStorage {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = .allocate(capacity: max(1, count))
        if count > 0 { pointer.initialize(from: values, count: count) }
    }

    deinit { pointer.deallocate() }
}
