import Foundation
import TandemEmbedding

/// Every setting Tandem reads from its environment, with a default for each: the one place
/// that reads configuration. The command line overrides fields after construction, so the
/// precedence is command line, then environment, then these defaults.
public struct TandemEnvironment: Sendable, Equatable {
    /// Folder of the sentence-transformers model (`TANDEM_MODEL_DIR`).
    public var modelDirectory: String
    /// Threads the encoder may use (`TANDEM_THREADS`, default: all cores).
    public var threads: Int
    /// PostgreSQL URL (`DATABASE_URL`); without it Tandem uses SQLite in `dataDirectory`.
    public var databaseURL: String?
    /// Where the SQLite database lives (`TANDEM_DATA_DIR`, default `./data`).
    public var dataDirectory: String
    /// Address and port to listen on (`TANDEM_HOST`, `TANDEM_PORT`).
    public var host: String
    public var port: Int
    /// The address people use to reach this server, when it differs from host and port
    /// (`TANDEM_PUBLIC_URL`, e.g. behind a proxy).
    public var publicURLOverride: String?
    /// The address people use to reach this server, for links.
    public var publicURL: String { publicURLOverride ?? "http://\(host):\(port)" }
    /// Served over https (by the public URL): the session cookie is then `Secure` and HSTS is sent.
    public var isHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") }
    /// Origins allowed to frame the chat widget (`TANDEM_WIDGET_ORIGINS`, comma-separated, e.g.
    /// `https://www.example.com`); besides this server itself, none by default.
    public var widgetOrigins: [String]
    /// Listening on a loopback address only: nobody else can reach this server.
    public var isLoopback: Bool { ["127.0.0.1", "::1", "localhost"].contains(host.lowercased()) || host.hasPrefix("127.") }
    /// Load the demo workspace into an empty database (`TANDEM_DEMO`). By default only on a
    /// loopback bind: a server others can reach gets no demo accounts unless asked for.
    public var loadDemo: Bool {
        get { demoOverride ?? isLoopback }
        set { demoOverride = newValue }
    }
    private var demoOverride: Bool?
    /// Password of the demo agents (`TANDEM_DEMO_PASSWORD`). By default the documented
    /// `tandem-demo` on a loopback bind, and a random one otherwise (printed once at start).
    public var demoPassword: String {
        get { demoPasswordOverride ?? (isLoopback ? Self.documentedDemoPassword : generatedDemoPassword) }
        set { demoPasswordOverride = newValue }
    }
    private var demoPasswordOverride: String?
    private let generatedDemoPassword: String
    /// The demo password the README and the login page name.
    public static let documentedDemoPassword = "tandem-demo"
    /// Whether the demo accounts' password is the published one (the login page then shows it).
    public var demoPasswordIsDocumented: Bool { demoPassword == Self.documentedDemoPassword }
    /// The login page lists the demo accounts only when their password is the published one.
    public var showsDemoLogins: Bool { loadDemo && demoPasswordIsDocumented }
    /// Train a model from the knowledge base at start when none is active (`TANDEM_TRAIN_ON_START`).
    public var trainOnStart: Bool
    /// Customer messages that may wait for the encoder (`TANDEM_INFERENCE_QUEUE`, default 64);
    /// one more goes straight to a person, stored and acknowledged (README, "Limits").
    public var inferenceQueue: Int
    /// Customer messages one node handles at once (`TANDEM_MESSAGES_IN_FLIGHT`, default 64); one
    /// more gets 503 with Retry-After before anything is stored, so waits stay bounded.
    public var messagesInFlight: Int
    /// Longest customer or agent message accepted, in characters (`TANDEM_MAX_MESSAGE_CHARS`).
    public var maxMessageCharacters: Int
    /// Identifies this process among the nodes sharing a database (`TANDEM_NODE_ID`).
    public var nodeID: String
    /// Encoder to use: `model` (default) or `lexical` (`TANDEM_ENCODER`).
    public var encoder: String
    /// PostgreSQL schema to use instead of `public` (`TANDEM_DATABASE_SCHEMA`; tests isolate runs this way).
    public var databaseSchema: String?
    /// Per-minute limits on anonymous and sign-in requests (README, "Limits").
    public var limits: RequestLimits
    /// Proxies whose `X-Forwarded-For` names the client (`TANDEM_TRUSTED_PROXIES`, comma-separated addresses).
    public var trustedProxies: Set<String>
    /// Seconds an agent's session may stay unused before it ends (`TANDEM_SESSION_IDLE_MINUTES`, default 120).
    public var sessionIdleTimeout: TimeInterval
    /// Bcrypt cost for agents' passwords (`TANDEM_BCRYPT_COST`, default 12).
    public var bcryptCost: Int
    /// `TANDEM_SHARED_DIR`: the read-only data folder benchmarks read Banking77 from.
    public var sharedDirectory: String
    /// Events older than this many days are deleted (`TANDEM_EVENT_RETENTION_DAYS`, default 7);
    /// a client away longer resumes from what is left.
    public var eventRetentionDays: Double
    /// Seconds an event id that has not committed yet is waited for when PostgreSQL cannot tell
    /// (`TANDEM_EVENT_SAFETY_WINDOW`, default 60; see `EventBus`).
    public var eventSafetyWindow: Double
    /// Seconds between reads of the event table when nothing wakes the poller sooner
    /// (`TANDEM_EVENT_POLL_INTERVAL`, default 0.25). A commit on this node wakes it at once, and
    /// on PostgreSQL so does a commit on any other node (NOTIFY), so this bounds only how late
    /// an event can be when a notification is lost.
    public var eventPollInterval: Double
    /// Open event streams allowed per customer token or agent session (`TANDEM_STREAMS_PER_TOKEN`, default 5).
    public var streamsPerToken: Int
    /// Open event streams allowed on this node (`TANDEM_STREAMS_TOTAL`, default 5000).
    public var streamsTotal: Int
    /// Seconds between keep-alive comments on an idle stream (`TANDEM_STREAM_HEARTBEAT`, default 15).
    public var streamHeartbeat: Double
    /// Seconds after which the server ends a stream; the client reconnects with `Last-Event-ID`
    /// (`TANDEM_STREAM_LIFETIME`, default 3600).
    public var streamLifetime: Double
    /// The server secret customer keys are HMACs with (`TANDEM_SECRET_KEY`, or the first line of
    /// the file `TANDEM_SECRET_KEY_FILE`). Unset, a random one is generated once and kept in the
    /// database, so every node agrees; set it to keep it out of the database, so a copy of the
    /// database alone cannot tell whose e-mail a customer key is.
    public var secretKey: String?
    /// E-mail as a channel (README, "E-mail"). `TANDEM_LMTP_ADDRESS` (`host:port`): where Tandem
    /// takes mail the operator's MTA delivers by LMTP; unset, no mail is taken.
    public var lmtpAddress: String?
    /// `TANDEM_SMTP_URL` (`smtp://host:port`): the relay replies are sent through; unset, none are.
    public var smtpURL: String?
    /// The address replies come from (`TANDEM_MAIL_FROM`, default `support@localhost`); its
    /// domain names Tandem's Message-IDs.
    public var mailFrom: String
    /// Largest e-mail taken, in bytes (`TANDEM_MAX_MAIL_BYTES`, default 10 MB).
    public var maxMailBytes: Int

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        func flag(_ key: String, _ fallback: Bool) -> Bool {
            guard let v = value(key)?.lowercased() else { return fallback }
            return ["1", "true", "yes", "on"].contains(v)
        }
        modelDirectory = value("TANDEM_MODEL_DIR") ?? EncoderLoader.defaultDirectory(environment: environment)
        threads = value("TANDEM_THREADS").flatMap(Int.init).map { max(1, $0) } ?? ProcessInfo.processInfo.activeProcessorCount
        databaseURL = value("DATABASE_URL")
        dataDirectory = value("TANDEM_DATA_DIR") ?? "data"
        host = value("TANDEM_HOST") ?? "127.0.0.1"
        port = value("TANDEM_PORT").flatMap(Int.init) ?? value("PORT").flatMap(Int.init) ?? 8080
        publicURLOverride = value("TANDEM_PUBLIC_URL")
        widgetOrigins = (value("TANDEM_WIDGET_ORIGINS") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter(Self.isOrigin)
        demoOverride = value("TANDEM_DEMO") == nil ? nil : flag("TANDEM_DEMO", true)
        demoPasswordOverride = value("TANDEM_DEMO_PASSWORD")
        generatedDemoPassword = Self.randomPassword()
        trainOnStart = flag("TANDEM_TRAIN_ON_START", true)
        inferenceQueue = value("TANDEM_INFERENCE_QUEUE").flatMap(Int.init).map { max(1, $0) } ?? 64
        messagesInFlight = value("TANDEM_MESSAGES_IN_FLIGHT").flatMap(Int.init).map { max(1, $0) } ?? 64
        maxMessageCharacters = value("TANDEM_MAX_MESSAGE_CHARS").flatMap(Int.init).map { max(1, $0) } ?? 2000
        nodeID = value("TANDEM_NODE_ID") ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        encoder = value("TANDEM_ENCODER") ?? "model"
        databaseSchema = value("TANDEM_DATABASE_SCHEMA")
        sharedDirectory = value("TANDEM_SHARED_DIR") ?? "../shared"
        func perMinute(_ key: String, _ fallback: Double) -> Double { value(key).flatMap(Double.init).map { max(1, $0) } ?? fallback }
        limits = RequestLimits(enabled: flag("TANDEM_RATE_LIMITS", true),
                               conversationsPerAddress: perMinute("TANDEM_LIMIT_CONVERSATIONS", 10),
                               messagesPerAddress: perMinute("TANDEM_LIMIT_MESSAGES_PER_ADDRESS", 120),
                               messagesPerConversation: perMinute("TANDEM_LIMIT_MESSAGES", 20),
                               loginsPerAddress: perMinute("TANDEM_LIMIT_LOGINS_PER_ADDRESS", 20),
                               loginsPerEmail: perMinute("TANDEM_LIMIT_LOGINS_PER_EMAIL", 5),
                               messagesPerConversationCap: value("TANDEM_MAX_MESSAGES_PER_CONVERSATION").flatMap(Int.init).map { max(2, $0) } ?? 500,
                               openConversationsPerAddress: value("TANDEM_MAX_OPEN_CONVERSATIONS").flatMap(Int.init).map { max(1, $0) } ?? 20)
        trustedProxies = Set((value("TANDEM_TRUSTED_PROXIES") ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        sessionIdleTimeout = (value("TANDEM_SESSION_IDLE_MINUTES").flatMap(Double.init).map { max(1, $0) } ?? 120) * 60
        func positive(_ key: String, _ fallback: Double) -> Double { value(key).flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? fallback }
        eventRetentionDays = positive("TANDEM_EVENT_RETENTION_DAYS", 7)
        eventSafetyWindow = positive("TANDEM_EVENT_SAFETY_WINDOW", 60)
        eventPollInterval = positive("TANDEM_EVENT_POLL_INTERVAL", 0.25)
        streamsPerToken = value("TANDEM_STREAMS_PER_TOKEN").flatMap(Int.init).map { max(1, $0) } ?? 5
        streamsTotal = value("TANDEM_STREAMS_TOTAL").flatMap(Int.init).map { max(1, $0) } ?? 5000
        streamHeartbeat = positive("TANDEM_STREAM_HEARTBEAT", 15)
        streamLifetime = positive("TANDEM_STREAM_LIFETIME", 3600)
        lmtpAddress = value("TANDEM_LMTP_ADDRESS")
        smtpURL = value("TANDEM_SMTP_URL")
        mailFrom = value("TANDEM_MAIL_FROM") ?? "support@localhost"
        maxMailBytes = value("TANDEM_MAX_MAIL_BYTES").flatMap(Int.init).map { max(10_000, $0) } ?? 10_000_000
        secretKey = value("TANDEM_SECRET_KEY") ?? value("TANDEM_SECRET_KEY_FILE").flatMap { path in
            (try? String(contentsOfFile: path, encoding: .utf8))?.split(whereSeparator: \.isNewline).first.map(String.init)
        }
        bcryptCost = value("TANDEM_BCRYPT_COST").flatMap(Int.init).map { min(max($0, 4), 31) } ?? 12
    }

    /// The SQLite file used when no `DATABASE_URL` is set.
    /// 16 characters from a 54-letter alphabet without look-alikes (about 92 bits).
    static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// `scheme://host[:port]` and nothing else, so a setting cannot inject into a header.
    static func isOrigin(_ text: String) -> Bool {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
              url.path.isEmpty, url.query == nil, url.fragment == nil else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7f && $0 != ";" && $0 != "," }
    }

    public var sqlitePath: String { (dataDirectory as NSString).appendingPathComponent("tandem.sqlite") }
}

/// Requests per minute, per client address or per conversation or e-mail; `enabled` false
/// (`TANDEM_RATE_LIMITS=off`) lifts them all, as `tandem bench serve` does for its own server.
public struct RequestLimits: Sendable, Equatable {
    public var enabled: Bool
    public var conversationsPerAddress: Double
    public var messagesPerAddress: Double
    public var messagesPerConversation: Double
    public var loginsPerAddress: Double
    public var loginsPerEmail: Double
    /// Messages one conversation may hold (all senders); a customer then starts a new one.
    public var messagesPerConversationCap: Int
    /// Unresolved conversations one client address may have started in the last 24 hours
    /// (`TANDEM_MAX_OPEN_CONVERSATIONS`, default 20: room for an office behind one address).
    public var openConversationsPerAddress: Int
}
