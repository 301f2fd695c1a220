import Foundation
import SpinnpruneApp

exit(spinnpruneMain(Array(CommandLine.arguments.dropFirst())))
