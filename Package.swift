// swift-tools-version:6.0
import PackageDescription

// Compute-heavy targets are compiled with -Ounchecked even in debug builds so that
// tests and `swift run` exercise the encoder at realistic speed.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"])]

let package = Package(
    name: "Tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["tandem"]),
        .library(name: "TandemEmbedding", targets: ["TandemEmbedding"]),
        .library(name: "TandemCore", targets: ["TandemCore"]),
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
    ],
    targets: [
        // BLAS: OpenBLAS through its C header on Linux; Accelerate is used directly on Apple platforms.
        .systemLibrary(
            name: "CBLAS",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]
        ),
        // AVX2+FMA small-batch GEMM for the single-sentence path, chosen at run time.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Pure compute: safetensors, tokenizer, BERT encoder, pooling. No I/O beyond model files.
        .target(
            name: "TandemEmbedding",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            swiftSettings: fastMath
        ),
        // Pure domain logic: classifier head, calibration, guaranteed thresholds, routing, metrics, staffing.
        .target(
            name: "TandemCore",
            dependencies: ["TandemEmbedding", "CKernels", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fastMath
        ),
        // The Vapor application: storage, routes, views, jobs.
        .target(
            name: "TandemServer",
            dependencies: [
                "TandemCore",
                "TandemEmbedding",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "Leaf", package: "leaf"),
            ],
            resources: [.copy("Resources")]
        ),
        // Benchmarks, apart from tests: they print figures and ratios measured in one run.
        .target(
            name: "TandemBenchmarks",
            dependencies: ["TandemServer", "TandemCore", "TandemEmbedding", .product(name: "Vapor", package: "vapor")],
            swiftSettings: fastMath
        ),
        // Thin command line: parses arguments, calls into the libraries.
        .executableTarget(
            name: "tandem",
            dependencies: [
                "TandemServer",
                "TandemBenchmarks",
                "TandemCore",
                "TandemEmbedding",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TandemEmbeddingTests", dependencies: ["TandemEmbedding", "CKernels"]),
        .testTarget(name: "TandemCoreTests", dependencies: ["TandemCore", "TandemEmbedding"]),
        .testTarget(
            name: "TandemServerTests",
            dependencies: [
                "TandemServer", "TandemCore", "TandemEmbedding",
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
            ]
        ),
    ]
)
