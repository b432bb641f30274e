import ArchiveIO
import CurlHTTP
import Distribution
import Hashing
import OpenPGP
import OCISpec
import Rootfs
import SBOM
import SIF
import SifterCore
import Squashfs

/// What went wrong, as far as a caller can act on it; each has its own exit status, the same
/// whatever the source kind (a corrupt layer is bad input from a registry and from a layout).
enum FailureCategory {
    /// The input is invalid: a damaged SIF, a hostile or corrupt image, a digest mismatch.
    case badInput
    /// The command line asks for something impossible.
    case usage
    /// A registry failed, refused or could not be reached.
    case remote
    /// This machine: a full disk, a missing tool, a permission, mksquashfs's own failure.
    case environment
    /// Anything else.
    case other

    var exitStatus: Int32 {
        switch self {
        case .badInput: 65  // EX_DATAERR
        case .usage: 64  // EX_USAGE
        case .remote: 69  // EX_UNAVAILABLE
        case .environment: 74  // EX_IOERR
        case .other: 1
        }
    }

    /// The category of an error of sifter's own modules; nil for an error of ArgumentParser's
    /// (usage errors, --help, --version), which it reports itself.
    init?(_ error: any Error) {
        switch error {
        case let error as SIFError:
            if case .io = error { self = .environment } else { self = .badInput }
        case let error as RootfsError:
            if case .outputFailed = error { self = .environment } else { self = .badInput }
        case let error as BuildError:
            if case .unsupportedSource = error { self = .usage } else { self = .badInput }
        case is OCISpecError:
            self = .badInput
        case let error as OpenPGPError:
            // A key that cannot be used as given is a usage problem; a damaged one bad input.
            switch error {
            case .passphraseRequired, .wrongPassphrase, .unusableKey, .unsupported: self = .usage
            case .openssl: self = .environment
            case .armor, .malformed, .badSignature: self = .badInput
            }
        case let error as SigningError:
            switch error {
            case .keyFile: self = .environment  // missing or unreadable, as any input file
            case .noSuchGroup, .invalidTime: self = .usage
            case .nothingToSign, .keyFileContent: self = .badInput
            }
        case let error as PublishError:
            self = error.isBadInput ? .badInput : .usage
        case let error as SifterError:
            switch error {
            case .invalidArgument, .outputDirectory, .notRegularFile: self = .usage
            case .outputExists, .outputNotRegular, .outputCreatedMeanwhile: self = .usage
            case .io: self = .environment
            }
        case let error as SBOMError:
            self = error.isEnvironment ? .environment : .badInput
        case is SquashfsError, is HashingError, is ArchiveError:
            self = .environment
        case let error as DistributionError:
            self = Self.category(of: error)
        case is CurlError:
            self = .remote
        case let error as SyncError:
            if case .entriesFailed = error { self = .other } else { self = .usage }
        case let error as PruneError:
            if case .noPolicy = error { self = .usage } else { self = .remote }
        default:
            return nil
        }
    }

    private static func category(of error: DistributionError) -> FailureCategory {
        switch error {
        case .digestMismatch, .sizeMismatch, .unsupportedMediaType, .platformNotFound, .invalidInput:
            return .badInput
        case .io, .cache, .credentials:
            return .environment
        case .invalidOption:
            return .usage
        case let .damagedCacheBlob(_, _, refetch):
            return category(of: refetch)
        case .cancelled:
            return .other
        default:
            return .remote
        }
    }
}
