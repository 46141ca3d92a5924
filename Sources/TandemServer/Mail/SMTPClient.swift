import Foundation
import NIOCore
import NIOPosix

/// Sends one message through an SMTP relay (`TANDEM_SMTP_URL`, `smtp://host:port`): the
/// operator's MTA, which queues, retries and delivers. Plain SMTP to a relay on a trusted
/// network (the usual set-up beside a local Postfix); a failure throws, and the job queue
/// retries the send.
struct SMTPClient {
    let host: String
    let port: Int
    let heloName: String
    let group: any EventLoopGroup

    init(url: String, heloName: String, group: any EventLoopGroup) throws {
        guard let parts = URLComponents(string: url), parts.scheme?.lowercased() == "smtp", let host = parts.host, !host.isEmpty else {
            throw MailProtocolError("TANDEM_SMTP_URL must look like smtp://host:port, not \(url)")
        }
        self.host = host
        port = parts.port ?? 25
        self.heloName = heloName
        self.group = group
    }

    /// `data`: the message as rendered (`OutboundMail.rendered`, CRLF lines, dots escaped).
    func send(from: String, to: String, data: String) async throws {
        let channel = try await ClientBootstrap(group: group).connectTimeout(.seconds(10)).connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        try await channel.executeThenClose { inbound, outbound in
            var lines = MailLineReader(inbound)
            func expect(_ code: Int, after what: String) async throws {
                while true {
                    guard let line = try await lines.text() else { throw MailProtocolError("the relay closed the connection after \(what)") }
                    guard line.count >= 3, let got = Int(line.prefix(3)) else { throw MailProtocolError("a reply that is not SMTP after \(what): \(line)") }
                    if line.count > 3, line[line.index(line.startIndex, offsetBy: 3)] == "-" { continue }
                    guard got == code else { throw MailProtocolError("the relay answered \(what) with \(line)") }
                    return
                }
            }
            try await expect(220, after: "connecting")
            try await outbound.send("EHLO \(heloName)\r\n")
            try await expect(250, after: "EHLO")
            try await outbound.send("MAIL FROM:<\(from)>\r\n")
            try await expect(250, after: "MAIL FROM")
            try await outbound.send("RCPT TO:<\(to)>\r\n")
            try await expect(250, after: "RCPT TO")
            try await outbound.send("DATA\r\n")
            try await expect(354, after: "DATA")
            try await outbound.send(data.hasSuffix("\r\n") ? data : data + "\r\n")
            try await outbound.send(".\r\n")
            try await expect(250, after: "the message")
            try await outbound.send("QUIT\r\n")
        }
    }
}
