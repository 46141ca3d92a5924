#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Weights are used in place, so the page cache,
/// not the process heap, holds them, and rows of the 47 MB word-embedding table that are
/// never looked up are never read from disk.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    public let bytes: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw EmbeddingError.fileNotFound(path: path) }
            throw EmbeddingError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw EmbeddingError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw EmbeddingError.unreadable(path: path, reason: "not a regular file")
        }
        count = Int(info.st_size)
        guard count > 0 else {
            throw EmbeddingError.invalidSafetensors(path: path, reason: "file is empty")
        }
        guard let base = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw EmbeddingError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(base)
    }

    /// Drops this process's resident copy of the pages (they stay in the page cache and
    /// fault back in when read again).
    public func releaseResidentPages() {
        madvise(UnsafeMutableRawPointer(mutating: bytes), count, MADV_DONTNEED)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), count)
    }
}
