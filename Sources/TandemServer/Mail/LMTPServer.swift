import Foundation
import Logging
import NIOCore
import NIOPosix

/// Takes mail the operator's MTA delivers by LMTP (RFC 2033) on `TANDEM_LMTP_ADDRESS`. LMTP
/// rather than IMAP polling: mail is pushed the moment it arrives; the MTA keeps its queue and
/// retries while Tandem is down (a 4xx here, or no answer, and it tries again), so nothing is
/// lost; and Tandem holds no mailbox password. Each recipient gets 250 only once the message is
/// stored (`deliver` returned), so an accepted message is never lost either.
struct LMTPServer {
    /// What became of a delivered message.
    enum Outcome: Sendable { case stored, refused(String) }
    typealias Deliver = @Sendable (_ bytes: [UInt8]) async throws -> Outcome

    let host: String
    let port: Int
    let maxBytes: Int
    let logger: Logger
    let deliver: Deliver

    init(address: String, maxBytes: Int, logger: Logger, deliver: @escaping Deliver) throws {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65_535).contains(port) else {
            throw MailProtocolError("TANDEM_LMTP_ADDRESS must be host:port, not \(address)")
        }
        host = String(address[..<colon])
        self.port = port
        self.maxBytes = maxBytes
        self.logger = logger
        self.deliver = deliver
    }

    /// Binds, then serves connections until the returned channel is closed.
    func start(group: any EventLoopGroup) async throws -> NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never> {
        try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
    }

    func serve(_ server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>) async {
        do {
            try await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await session(connection) }
                    }
                }
            }
        } catch {
            logger.debug("LMTP listener stopped: \(error)")
        }
    }

    private func session(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var lines = MailLineReader(inbound)
                var sender: String?
                var recipients: [String] = []
                try await outbound.send("220 tandem LMTP ready\r\n")
                while let line = try await lines.text() {
                    let verb = line.prefix(while: { $0 != " " && $0 != ":" }).uppercased()
                    switch verb {
                    case "LHLO":
                        try await outbound.send("250-tandem\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SIZE \(maxBytes)\r\n")
                    case "MAIL":
                        sender = line
                        recipients = []
                        try await outbound.send("250 2.1.0 OK\r\n")
                    case "RCPT":
                        guard sender != nil else { try await outbound.send("503 5.5.1 MAIL first\r\n"); continue }
                        guard recipients.count < 100 else { try await outbound.send("452 4.5.3 Too many recipients\r\n"); continue }
                        recipients.append(line)
                        try await outbound.send("250 2.1.5 OK\r\n")
                    case "DATA":
                        guard !recipients.isEmpty else { try await outbound.send("503 5.5.1 RCPT first\r\n"); continue }
                        try await outbound.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                        var data: [UInt8] = []
                        var tooBig = false
                        while true {
                            guard var body = try await lines.line(limit: 1_000_000) else { return }
                            if body == [UInt8(ascii: ".")] { break }
                            if body.first == UInt8(ascii: ".") { body.removeFirst() }  // dot-stuffing
                            if data.count + body.count + 2 > maxBytes { tooBig = true; continue }
                            data += body
                            data += [13, 10]
                        }
                        let reply: String
                        if tooBig {
                            reply = "552 5.3.4 Message larger than \(maxBytes) bytes\r\n"
                        } else {
                            do {
                                switch try await deliver(data) {
                                case .stored: reply = "250 2.0.0 Stored\r\n"
                                case .refused(let why): reply = "550 5.6.0 \(why)\r\n"
                                }
                            } catch {
                                logger.warning("storing an e-mail failed (the MTA will retry): \(error)")
                                reply = "451 4.3.0 Temporary failure, try again\r\n"
                            }
                        }
                        // LMTP: one reply per recipient, for the one copy stored.
                        for _ in recipients { try await outbound.send(reply) }
                        sender = nil
                        recipients = []
                    case "RSET":
                        sender = nil
                        recipients = []
                        try await outbound.send("250 2.0.0 OK\r\n")
                    case "NOOP":
                        try await outbound.send("250 2.0.0 OK\r\n")
                    case "QUIT":
                        try await outbound.send("221 2.0.0 Bye\r\n")
                        return
                    default:
                        try await outbound.send("500 5.5.2 Unknown command\r\n")
                    }
                }
            }
        } catch {
            logger.debug("LMTP session ended: \(error)")
        }
    }
}
