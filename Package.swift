// swift-tools-version:6.0
import PackageDescription

// The compute targets are optimised even in debug builds, so that tests and `swift run`
// exercise the encoder and training at realistic speed. Only the numeric kernels give up
// run-time checks (-Ounchecked): that is where `tandem bench embed` measures a difference.
// Everything that parses user input (TandemText, TandemCore, the server) keeps its
// preconditions and its bounds and overflow checks. To measure what that costs (README,
// "Checks"), `TANDEM_UNCHECKED=all` builds every compute target unchecked and
// `TANDEM_UNCHECKED=none` builds the kernels checked too.
let unchecked = Context.environment["TANDEM_UNCHECKED"]
let kernels: [SwiftSetting] = [.unsafeFlags([unchecked == "none" ? "-O" : "-Ounchecked"])]
let optimised: [SwiftSetting] = [.unsafeFlags([unchecked == "all" ? "-Ounchecked" : "-O"])]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["tandem"]),
        .library(name: "TandemTensor", targets: ["TandemTensor"]),
        .library(name: "TandemText", targets: ["TandemText"]),
        .library(name: "TandemEmbedding", targets: ["TandemEmbedding"]),
        .library(name: "TandemCore", targets: ["TandemCore"]),
        .library(name: "TandemOffline", targets: ["TandemOffline"]),
        .library(name: "TandemServer", targets: ["TandemServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/leaf.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3" ..< "5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Benchmarks only: the load generator is a plain HTTP client in a process of its own.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // Tests only: every API response is validated against the OpenAPI document.
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
    ],
    targets: [
        // BLAS: OpenBLAS through its C header on Linux; Accelerate is used directly on Apple platforms.
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        // AVX2+FMA small-batch GEMM, GELU, short attention, sparse training products; chosen at run time.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Tensors and linear algebra: matrices, BLAS and the C kernels, worker teams, weight
        // arenas, the safetensors format. No model, no text.
        .target(
            name: "TandemTensor",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            swiftSettings: kernels
        ),
        // Text: BERT's basic tokenizer and WordPiece. Pure functions of the text it is given.
        .target(
            name: "TandemText",
            swiftSettings: optimised
        ),
        // The sentence encoder: BERT mirroring the reference modules, pooling, model folders.
        .target(
            name: "TandemEmbedding",
            dependencies: ["TandemTensor", "TandemText", "CKernels"],
            swiftSettings: kernels
        ),
        // Pure domain logic: classifier, calibration, guaranteed thresholds, routing, quality,
        // staffing. Values in, values out: no files, no clock, no network, no database.
        .target(
            name: "TandemCore",
            dependencies: ["TandemTensor", "TandemText", "CKernels", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: optimised
        ),
        // E-mail as values: parsing (headers, MIME, charsets, quoting) and composing. No I/O.
        .target(
            name: "TandemMail",
            swiftSettings: optimised
        ),
        // Offline work without Vapor: configuration, files (CSV, forecasts, model folders),
        // training and evaluation runs, HTML reports and charts, the model installer.
        .target(
            name: "TandemOffline",
            dependencies: ["TandemCore", "TandemEmbedding", "TandemTensor", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The Vapor application: storage, routes, views, jobs.
        .target(
            name: "TandemServer",
            dependencies: [
                "TandemOffline",
                "TandemCore",
                "TandemEmbedding",
                "TandemTensor",
                "TandemMail",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Leaf", package: "leaf"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources")]
        ),
        // Benchmarks, apart from tests: they print figures and ratios measured in one run. The
        // serving benchmarks start `tandem serve` as a process of its own and load it over HTTP.
        .target(
            name: "TandemBenchmarks",
            dependencies: ["TandemServer", "TandemOffline", "TandemCore", "TandemEmbedding", "TandemTensor",
                           .product(name: "Vapor", package: "vapor"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "NIOHTTP1", package: "swift-nio"),
                           .product(name: "NIOFoundationCompat", package: "swift-nio")]
        ),
        // Thin command line: parses arguments, calls into the libraries.
        .executableTarget(
            name: "tandem",
            dependencies: [
                "TandemServer",
                "TandemBenchmarks",
                "TandemOffline",
                "TandemCore",
                "TandemEmbedding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TandemTensorTests", dependencies: ["TandemTensor", "CKernels"]),
        .testTarget(name: "TandemTextTests", dependencies: ["TandemText"]),
        .testTarget(name: "TandemEmbeddingTests", dependencies: ["TandemEmbedding", "TandemTensor", "TandemText", "CKernels"]),
        .testTarget(name: "TandemMailTests", dependencies: ["TandemMail"]),
        .testTarget(name: "TandemCoreTests", dependencies: ["TandemCore", "TandemTensor"]),
        .testTarget(name: "TandemBenchmarksTests", dependencies: ["TandemBenchmarks", "TandemOffline"]),
        .testTarget(name: "TandemOfflineTests", dependencies: ["TandemOffline", "TandemCore", "TandemEmbedding", "TandemTensor"]),
        .testTarget(
            name: "TandemServerTests",
            dependencies: [
                "TandemServer", "TandemOffline", "TandemCore", "TandemEmbedding", "TandemTensor",
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "OpenAPIKit30", package: "OpenAPIKit"),
            ]
        ),
    ]
)
