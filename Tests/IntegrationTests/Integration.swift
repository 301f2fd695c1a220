import Testing

/// Every integration suite is nested in this one and runs one test at a time: they spawn
/// `spinnprune` and `mpirun` processes, and the machine has 2 cores.
@Suite(.serialized) struct Integration {}
