import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Weights are used in place, so the page cache,
/// not the process heap, holds them, and rows of the 47 MB word-embedding table that are
/// never looked up are never read from disk. Bytes already in memory (a model stored in the
/// database) get an anonymous mapping, so tensors are read from both the same way.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let count: Int
    public let bytes: UnsafeRawPointer
    /// An anonymous mapping has no file behind it: its pages must never be dropped.
    private let anonymous: Bool

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { throw SafetensorsError.fileNotFound(path: path) }
            throw SafetensorsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw SafetensorsError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw SafetensorsError.unreadable(path: path, reason: "not a regular file")
        }
        count = Int(info.st_size)
        guard count > 0 else {
            throw SafetensorsError.invalid(path: path, reason: "file is empty")
        }
        guard let base = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw SafetensorsError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(base)
        anonymous = false
    }

    /// A private anonymous mapping holding a copy of `data`; `name` stands for the path in errors.
    public init(copying data: Data, name: String) throws {
        path = name
        count = data.count
        guard count > 0 else { throw SafetensorsError.invalid(path: name, reason: "no bytes") }
        guard let base = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
            throw SafetensorsError.unreadable(path: name, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let size = count
        data.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: size) }
        bytes = UnsafeRawPointer(base)
        anonymous = true
    }

    /// Drops this process's resident copy of the pages (they stay in the page cache and
    /// fault back in when read again).
    public func releaseResidentPages() {
        guard !anonymous else { return }
        madvise(UnsafeMutableRawPointer(mutating: bytes), count, MADV_DONTNEED)
    }

    /// Says the file is read from now on a little at a time, anywhere (embedding rows, one per
    /// token): a read maps the pages it touches, not the whole 2 MB folio the page cache holds
    /// (ext4's large folios) nor readahead around it.
    public func adviseScatteredReads() {
        guard !anonymous else { return }
        #if os(Linux)
        madvise(UnsafeMutableRawPointer(mutating: bytes), count, MADV_NOHUGEPAGE)
        #endif
        madvise(UnsafeMutableRawPointer(mutating: bytes), count, MADV_RANDOM)
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes), count)
    }
}
