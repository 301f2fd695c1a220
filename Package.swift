// swift-tools-version:6.0
import PackageDescription

// One module per concern. Only SpikeMPI imports CMPI: the numerical core (SpikeModel,
// SpikeCompression) talks to the Communicator protocol of SpikeCluster, so the same code
// path runs on one rank without MPI and on N ranks under mpirun.
let package = Package(
    name: "spinnprune",
    products: [
        .executable(name: "spinnprune", targets: ["spinnprune"]),
    ],
    targets: [
        // System libraries (Debian packages; launch/setup installs them).
        .systemLibrary(name: "CMPI", path: "CMPI", pkgConfig: "ompi",
                       providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(name: "CLinear", path: "Sources/CLinear",
                       providers: [.apt(["liblinear-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),
        // A header only (no library): the prefetch builtin for the training loops.
        .systemLibrary(name: "CPrefetch", path: "Sources/CPrefetch"),

        .target(name: "SpikeCluster"),
        .target(name: "SpikeMPI", dependencies: ["CMPI", "SpikeCluster"]),
        .target(name: "SpikeData", dependencies: ["CZlib", "CJPEG"]),
        .target(name: "SpikeCompression"),
        .target(name: "SpikeModel", dependencies: ["SpikeCluster", "SpikeCompression", "CPrefetch"]),
        .target(name: "SpikeReadout", dependencies: ["CLinear"]),
        .target(name: "SpiNNakerMapping"),
        .target(name: "SpinnpruneApp", dependencies: [
            "SpikeCluster", "SpikeMPI", "SpikeData", "SpikeModel", "SpikeCompression",
            "SpikeReadout", "SpiNNakerMapping",
        ]),
        .executableTarget(name: "spinnprune", dependencies: ["SpinnpruneApp"]),

        .testTarget(name: "SpikeModelTests", dependencies: ["SpikeModel", "SpikeCluster", "SpikeCompression"]),
        .testTarget(name: "SpikeDataTests", dependencies: ["SpikeData"]),
        .testTarget(name: "SpikeCompressionTests", dependencies: ["SpikeCompression"]),
        .testTarget(name: "SpikeReadoutTests", dependencies: ["SpikeReadout"]),
        .testTarget(name: "SpiNNakerMappingTests", dependencies: ["SpiNNakerMapping"]),
        .testTarget(name: "IntegrationTests", dependencies: ["SpinnpruneApp"]),
    ]
)
