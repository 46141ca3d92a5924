import NIOCore

/// What went wrong talking SMTP or LMTP, in words for the log and the reply.
struct MailProtocolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Lines of a mail protocol connection (CRLF, or a bare LF from a lax peer), read from an
/// `NIOAsyncChannel`'s inbound stream; a line over `limit` bytes is an error, never unbounded memory.
struct MailLineReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) { iterator = inbound.makeAsyncIterator() }

    /// The next line without its line break; nil when the peer closed.
    mutating func line(limit: Int = 4096) async throws -> [UInt8]? {
        while true {
            let view = buffer.readableBytesView
            if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
                let length = view.distance(from: view.startIndex, to: newline)
                guard var bytes = buffer.readBytes(length: length + 1) else { return nil }
                bytes.removeLast()
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
                if buffer.readerIndex > 65_536 { buffer.discardReadBytes() }
                return bytes
            }
            guard buffer.readableBytes <= limit else { throw MailProtocolError("a line longer than \(limit) bytes") }
            guard var next = try await iterator.next() else { return nil }
            buffer.writeBuffer(&next)
        }
    }

    /// The next line as text (commands and replies are ASCII; anything else is kept as Latin-1).
    mutating func text(limit: Int = 4096) async throws -> String? {
        try await line(limit: limit).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension NIOAsyncChannelOutboundWriter<ByteBuffer> {
    func send(_ text: String) async throws {
        try await write(ByteBuffer(string: text))
    }
}
