#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One large, 2 MB-aligned block holding the model's repacked weights. On Linux it asks for
/// transparent huge pages: a sentence streams all ~42 MB of weights, and with 4 KB pages the
/// page walks alone cost ~10% of single-sentence latency (measured with `tandem bench embed`).
public final class WeightArena: @unchecked Sendable {
    static let alignment = 2 << 20
    let base: UnsafeMutablePointer<Float>
    public let capacity: Int
    private var used = 0

    public init(floats: Int) {
        capacity = max(1, floats)
        let bytes = (capacity * MemoryLayout<Float>.stride + Self.alignment - 1) / Self.alignment * Self.alignment
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, Self.alignment, bytes) == 0, let raw else {
            fatalError("cannot allocate \(bytes) bytes for the model weights")
        }
        #if os(Linux)
        madvise(raw, bytes, MADV_HUGEPAGE)
        #endif
        base = raw.bindMemory(to: Float.self, capacity: capacity)
    }

    /// The next `count` floats, 64-byte aligned; falls back to a separate allocation if the
    /// arena was sized too small (never for the shapes `BertModel` reserves).
    public func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, owner: AnyObject) {
        let start = (used + 15) / 16 * 16
        guard start + count <= capacity else {
            let storage = FloatStorage([Float](repeating: 0, count: count))
            return (storage.pointer, storage)
        }
        used = start + count
        return (base + start, self)
    }

    deinit { free(base) }
}
