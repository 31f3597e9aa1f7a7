//! `mdn_status`: what every function of the C API returns, one value per mdn-core error kind
//! plus the C API's own.

use core::ffi::{CStr, c_char, c_int};

use mdn_core::Error;

/// The outcome of a call. Values are fixed and only ever appended to: a program may store
/// or transmit them. `mdn_status_str` names any value.
#[allow(
    non_camel_case_types,
    reason = "the C name is the API; cbindgen copies it into mdn.h"
)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mdn_status {
    /// Success.
    MDN_OK = 0,
    /// A required pointer is NULL, or an array is longer than any array can be (more than
    /// PTRDIFF_MAX bytes). A NULL array with length 0 is an empty array.
    MDN_ERROR_NULL_POINTER = 1,
    /// The model was never initialised by `mdn_model_init`, or its last initialisation
    /// failed (a zeroed `mdn_model` is not initialised).
    MDN_ERROR_NOT_INITIALISED = 2,
    /// An output buffer is too small for what the query writes (its length is given).
    MDN_ERROR_BUFFER_TOO_SMALL = 3,
    /// The `mdn_model` is not aligned for `uint64_t` (only possible through a cast).
    MDN_ERROR_MODEL_MISALIGNED = 4,
    /// An error of a newer mdn-core that this library does not name yet.
    MDN_ERROR_UNKNOWN = 9,
    /// The blob does not start with mdn's magic bytes: not a model blob.
    MDN_ERROR_BAD_MAGIC = 10,
    /// The blob's format version is not the one this library reads.
    MDN_ERROR_UNSUPPORTED_VERSION = 11,
    /// The blob is shorter than its fixed prefix or its declared length.
    MDN_ERROR_TRUNCATED = 12,
    /// The blob's declared length is smaller than a blob can be.
    MDN_ERROR_INVALID_LENGTH = 13,
    /// Bytes follow the blob's declared end: pass its exact length.
    MDN_ERROR_TRAILING_BYTES = 14,
    /// The blob's CRC-32 does not match its bytes.
    MDN_ERROR_CHECKSUM_MISMATCH = 15,
    /// The blob's header could not be decoded.
    MDN_ERROR_HEADER_DECODE = 16,
    /// A coded header field (activation, sigma or target transform) is unknown.
    MDN_ERROR_UNKNOWN_CODE = 17,
    /// A dimension of the model is zero.
    MDN_ERROR_EMPTY_DIMENSION = 18,
    /// The model needs more than the library's capacities (`MDN_MAX_INPUTS` and so on).
    MDN_ERROR_CAPACITY_EXCEEDED = 19,
    /// The number of feature or target names differs from the dimension they name.
    MDN_ERROR_NAME_COUNT = 20,
    /// The sigma floor is negative or not finite.
    MDN_ERROR_INVALID_SIGMA_FLOOR = 21,
    /// The padding before the parameters is not zero.
    MDN_ERROR_NON_ZERO_PADDING = 22,
    /// Sizes computed from the header overflow the address space.
    MDN_ERROR_SIZE_OVERFLOW = 23,
    /// The parameter section's size differs from what the header implies.
    MDN_ERROR_PARAMETER_SIZE_MISMATCH = 24,
    /// The blob is not 4-byte aligned in memory.
    MDN_ERROR_MISALIGNED = 25,
    /// A parameter of the blob is NaN or infinite.
    MDN_ERROR_NON_FINITE_PARAMETER = 26,
    /// A scaler's scale is zero, negative or not finite.
    MDN_ERROR_INVALID_SCALE = 27,
    /// The weights of an ensemble's networks do not add up to 1.
    MDN_ERROR_INVALID_NETWORK_WEIGHTS = 28,
    /// The input `x` has the wrong number of features (`mdn_input_dim`).
    MDN_ERROR_INPUT_LENGTH = 30,
    /// The target `y` has the wrong number of dimensions (`mdn_output_dim`).
    MDN_ERROR_TARGET_LENGTH = 31,
    /// The input `x` contains NaN or an infinity.
    MDN_ERROR_NON_FINITE_INPUT = 32,
    /// The target `y` contains NaN or an infinity.
    MDN_ERROR_NON_FINITE_TARGET = 33,
    /// A probability or coverage is not strictly between 0 and 1 (or is NaN).
    MDN_ERROR_INVALID_PROBABILITY = 34,
    /// The query needs one output dimension and the model has several.
    MDN_ERROR_NOT_UNIVARIATE = 35,
    /// A sampling temperature is zero, negative or not finite.
    MDN_ERROR_INVALID_TEMPERATURE = 36,
    /// A sampling sigma scale is zero, negative or not finite.
    MDN_ERROR_INVALID_SIGMA_SCALE = 37,
    /// Two mixtures have different target transforms.
    MDN_ERROR_TRANSFORM_MISMATCH = 38,
    /// An output's length differs from what the query writes.
    MDN_ERROR_OUTPUT_LENGTH = 39,
    /// A mixture mean is NaN or infinite.
    MDN_ERROR_NON_FINITE_MEAN = 40,
    /// A mixture sigma is zero, negative or not finite.
    MDN_ERROR_INVALID_SIGMA = 41,
    /// A mixture's weights do not add up to 1.
    MDN_ERROR_INVALID_MIXTURE_WEIGHTS = 42,
    /// The header's weight storage codes are not one per dense layer.
    MDN_ERROR_STORAGE_COUNT = 43,
    /// The model needs what this build of the library leaves out (tanh, f16 or int8
    /// weights: mdn-c's cargo features).
    MDN_ERROR_UNSUPPORTED = 44,
    /// A value is not representable in its layer's weight storage (writing only).
    MDN_ERROR_UNREPRESENTABLE_PARAMETER = 45,
    /// Neither update slot holds a usable model (`mdn_slots_select`).
    MDN_ERROR_NO_VALID_SLOT = 46,
    /// An update slot is shorter than its trailer (`MDN_SLOT_TRAILER_LEN` bytes).
    MDN_ERROR_SLOT_TOO_SMALL = 47,
    /// An update slot has no trailer (erased, or its update never committed).
    MDN_ERROR_SLOT_NOT_COMMITTED = 48,
    /// An update slot's trailer is torn or corrupted (checksum, version, flags or reserved
    /// bytes).
    MDN_ERROR_SLOT_TRAILER_CORRUPT = 49,
    /// An update slot's trailer commits another blob than the slot holds (its length or
    /// CRC differs).
    MDN_ERROR_SLOT_BLOB_MISMATCH = 50,
    /// The active slot's sequence number is the largest: no update can be newer.
    MDN_ERROR_SEQUENCE_EXHAUSTED = 51,
    /// The header mixes integer layers (int8-int16, int16-int16) with others, or gives them
    /// an activation other than relu.
    MDN_ERROR_INVALID_INTEGER_NETWORK = 52,
}

use mdn_status::*;

impl From<Error> for mdn_status {
    fn from(error: Error) -> Self {
        // mdn-core's `Error` is `#[non_exhaustive]`, so a wildcard is required here; the test
        // `every_core_error_is_mapped` (tests/status.rs) fails instead when a variant is added.
        match error {
            Error::BadMagic => MDN_ERROR_BAD_MAGIC,
            Error::UnsupportedVersion { .. } => MDN_ERROR_UNSUPPORTED_VERSION,
            Error::Truncated { .. } => MDN_ERROR_TRUNCATED,
            Error::InvalidLength { .. } => MDN_ERROR_INVALID_LENGTH,
            Error::TrailingBytes { .. } => MDN_ERROR_TRAILING_BYTES,
            Error::ChecksumMismatch { .. } => MDN_ERROR_CHECKSUM_MISMATCH,
            Error::HeaderDecode => MDN_ERROR_HEADER_DECODE,
            Error::UnknownCode { .. } => MDN_ERROR_UNKNOWN_CODE,
            Error::EmptyDimension { .. } => MDN_ERROR_EMPTY_DIMENSION,
            Error::CapacityExceeded { .. } => MDN_ERROR_CAPACITY_EXCEEDED,
            Error::NameCount { .. } => MDN_ERROR_NAME_COUNT,
            Error::InvalidSigmaFloor => MDN_ERROR_INVALID_SIGMA_FLOOR,
            Error::NonZeroPadding => MDN_ERROR_NON_ZERO_PADDING,
            Error::SizeOverflow => MDN_ERROR_SIZE_OVERFLOW,
            Error::ParameterSizeMismatch { .. } => MDN_ERROR_PARAMETER_SIZE_MISMATCH,
            Error::Misaligned { .. } => MDN_ERROR_MISALIGNED,
            Error::NonFiniteParameter { .. } => MDN_ERROR_NON_FINITE_PARAMETER,
            Error::InvalidScale { .. } => MDN_ERROR_INVALID_SCALE,
            Error::InvalidNetworkWeights => MDN_ERROR_INVALID_NETWORK_WEIGHTS,
            // The writer's "buffer too small" is the C API's own.
            Error::BufferTooSmall { .. } => MDN_ERROR_BUFFER_TOO_SMALL,
            Error::InputLength { .. } => MDN_ERROR_INPUT_LENGTH,
            Error::TargetLength { .. } => MDN_ERROR_TARGET_LENGTH,
            Error::NonFiniteInput => MDN_ERROR_NON_FINITE_INPUT,
            Error::NonFiniteTarget => MDN_ERROR_NON_FINITE_TARGET,
            Error::InvalidProbability => MDN_ERROR_INVALID_PROBABILITY,
            Error::NotUnivariate { .. } => MDN_ERROR_NOT_UNIVARIATE,
            Error::InvalidTemperature => MDN_ERROR_INVALID_TEMPERATURE,
            Error::InvalidSigmaScale => MDN_ERROR_INVALID_SIGMA_SCALE,
            Error::TransformMismatch => MDN_ERROR_TRANSFORM_MISMATCH,
            Error::OutputLength { .. } => MDN_ERROR_OUTPUT_LENGTH,
            Error::NonFiniteMean { .. } => MDN_ERROR_NON_FINITE_MEAN,
            Error::InvalidSigma { .. } => MDN_ERROR_INVALID_SIGMA,
            Error::InvalidMixtureWeights => MDN_ERROR_INVALID_MIXTURE_WEIGHTS,
            Error::StorageCount { .. } => MDN_ERROR_STORAGE_COUNT,
            Error::InvalidIntegerNetwork => MDN_ERROR_INVALID_INTEGER_NETWORK,
            Error::Unsupported { .. } => MDN_ERROR_UNSUPPORTED,
            Error::UnrepresentableParameter { .. } => MDN_ERROR_UNREPRESENTABLE_PARAMETER,
            _ => MDN_ERROR_UNKNOWN,
        }
    }
}

/// `Ok(())` as `MDN_OK`, an error as its status.
pub(crate) fn status_of(result: Result<(), mdn_status>) -> mdn_status {
    result.err().unwrap_or(MDN_OK)
}

/// A static, NUL-terminated English description of `status`, for logs. Any `int` is
/// accepted: a value that is not an `mdn_status` gives "unknown mdn_status value".
/// Never returns NULL.
#[unsafe(no_mangle)]
pub extern "C" fn mdn_status_str(status: c_int) -> *const c_char {
    describe(status).as_ptr()
}

/// Every status, in value order: what [`mdn_status_str`] recognises.
pub(crate) const ALL: [mdn_status; 48] = [
    MDN_OK,
    MDN_ERROR_NULL_POINTER,
    MDN_ERROR_NOT_INITIALISED,
    MDN_ERROR_BUFFER_TOO_SMALL,
    MDN_ERROR_MODEL_MISALIGNED,
    MDN_ERROR_UNKNOWN,
    MDN_ERROR_BAD_MAGIC,
    MDN_ERROR_UNSUPPORTED_VERSION,
    MDN_ERROR_TRUNCATED,
    MDN_ERROR_INVALID_LENGTH,
    MDN_ERROR_TRAILING_BYTES,
    MDN_ERROR_CHECKSUM_MISMATCH,
    MDN_ERROR_HEADER_DECODE,
    MDN_ERROR_UNKNOWN_CODE,
    MDN_ERROR_EMPTY_DIMENSION,
    MDN_ERROR_CAPACITY_EXCEEDED,
    MDN_ERROR_NAME_COUNT,
    MDN_ERROR_INVALID_SIGMA_FLOOR,
    MDN_ERROR_NON_ZERO_PADDING,
    MDN_ERROR_SIZE_OVERFLOW,
    MDN_ERROR_PARAMETER_SIZE_MISMATCH,
    MDN_ERROR_MISALIGNED,
    MDN_ERROR_NON_FINITE_PARAMETER,
    MDN_ERROR_INVALID_SCALE,
    MDN_ERROR_INVALID_NETWORK_WEIGHTS,
    MDN_ERROR_INPUT_LENGTH,
    MDN_ERROR_TARGET_LENGTH,
    MDN_ERROR_NON_FINITE_INPUT,
    MDN_ERROR_NON_FINITE_TARGET,
    MDN_ERROR_INVALID_PROBABILITY,
    MDN_ERROR_NOT_UNIVARIATE,
    MDN_ERROR_INVALID_TEMPERATURE,
    MDN_ERROR_INVALID_SIGMA_SCALE,
    MDN_ERROR_TRANSFORM_MISMATCH,
    MDN_ERROR_OUTPUT_LENGTH,
    MDN_ERROR_NON_FINITE_MEAN,
    MDN_ERROR_INVALID_SIGMA,
    MDN_ERROR_INVALID_MIXTURE_WEIGHTS,
    MDN_ERROR_STORAGE_COUNT,
    MDN_ERROR_UNSUPPORTED,
    MDN_ERROR_UNREPRESENTABLE_PARAMETER,
    MDN_ERROR_NO_VALID_SLOT,
    MDN_ERROR_SLOT_TOO_SMALL,
    MDN_ERROR_SLOT_NOT_COMMITTED,
    MDN_ERROR_SLOT_TRAILER_CORRUPT,
    MDN_ERROR_SLOT_BLOB_MISMATCH,
    MDN_ERROR_SEQUENCE_EXHAUSTED,
    MDN_ERROR_INVALID_INTEGER_NETWORK,
];

/// The text of [`mdn_status_str`] for `status`.
fn describe(status: c_int) -> &'static CStr {
    ALL.iter()
        .find(|&&s| s as c_int == status)
        .map_or(c"unknown mdn_status value", |&s| text(s))
}

/// A description of each status; exhaustive, so a new status needs its text.
const fn text(status: mdn_status) -> &'static CStr {
    match status {
        MDN_OK => c"ok",
        MDN_ERROR_NULL_POINTER => c"a required pointer is NULL",
        MDN_ERROR_NOT_INITIALISED => c"the model is not initialised",
        MDN_ERROR_BUFFER_TOO_SMALL => c"an output buffer is too small",
        MDN_ERROR_MODEL_MISALIGNED => c"the mdn_model is not 8-byte aligned",
        MDN_ERROR_UNKNOWN => c"an error this library does not name",
        MDN_ERROR_BAD_MAGIC => c"not an mdn model blob (bad magic bytes)",
        MDN_ERROR_UNSUPPORTED_VERSION => c"unsupported blob format version",
        MDN_ERROR_TRUNCATED => c"blob truncated",
        MDN_ERROR_INVALID_LENGTH => c"declared blob length is too small to be valid",
        MDN_ERROR_TRAILING_BYTES => c"bytes follow the blob's declared end",
        MDN_ERROR_CHECKSUM_MISMATCH => c"blob checksum mismatch",
        MDN_ERROR_HEADER_DECODE => c"model header could not be decoded",
        MDN_ERROR_UNKNOWN_CODE => c"unknown code in a header field",
        MDN_ERROR_EMPTY_DIMENSION => c"a model dimension is zero",
        MDN_ERROR_CAPACITY_EXCEEDED => c"model exceeds the library's capacities",
        MDN_ERROR_NAME_COUNT => c"wrong number of feature or target names",
        MDN_ERROR_INVALID_SIGMA_FLOOR => c"sigma floor is negative or not finite",
        MDN_ERROR_NON_ZERO_PADDING => c"padding before the parameters is not zero",
        MDN_ERROR_SIZE_OVERFLOW => c"model sizes overflow the address space",
        MDN_ERROR_PARAMETER_SIZE_MISMATCH => c"parameter section size mismatch",
        MDN_ERROR_MISALIGNED => c"blob is not 4-byte aligned in memory",
        MDN_ERROR_NON_FINITE_PARAMETER => c"a parameter is not finite",
        MDN_ERROR_INVALID_SCALE => c"a scale (scaler, calibration or int8 row) is not positive",
        MDN_ERROR_INVALID_NETWORK_WEIGHTS => c"the networks' weights do not add up to 1",
        MDN_ERROR_INPUT_LENGTH => c"input has the wrong number of features",
        MDN_ERROR_TARGET_LENGTH => c"target has the wrong number of dimensions",
        MDN_ERROR_NON_FINITE_INPUT => c"input contains NaN or infinity",
        MDN_ERROR_NON_FINITE_TARGET => c"target contains NaN or infinity",
        MDN_ERROR_INVALID_PROBABILITY => c"probability is not strictly between 0 and 1",
        MDN_ERROR_NOT_UNIVARIATE => c"query needs one output dimension",
        MDN_ERROR_INVALID_TEMPERATURE => c"temperature is not positive and finite",
        MDN_ERROR_INVALID_SIGMA_SCALE => c"sigma scale is not positive and finite",
        MDN_ERROR_TRANSFORM_MISMATCH => c"the mixtures have different target transforms",
        MDN_ERROR_OUTPUT_LENGTH => c"output length differs from what the query writes",
        MDN_ERROR_NON_FINITE_MEAN => c"a mixture mean is not finite",
        MDN_ERROR_INVALID_SIGMA => c"a mixture sigma is not positive and finite",
        MDN_ERROR_INVALID_MIXTURE_WEIGHTS => c"the mixture's weights do not add up to 1",
        MDN_ERROR_STORAGE_COUNT => c"the weight storage codes are not one per dense layer",
        MDN_ERROR_UNSUPPORTED => c"the model needs what this build of the library leaves out",
        MDN_ERROR_UNREPRESENTABLE_PARAMETER => {
            c"a value is not representable in its weight storage"
        }
        MDN_ERROR_NO_VALID_SLOT => c"neither update slot holds a usable model",
        MDN_ERROR_SLOT_TOO_SMALL => c"an update slot is shorter than its trailer",
        MDN_ERROR_SLOT_NOT_COMMITTED => c"an update slot has no trailer (not committed)",
        MDN_ERROR_SLOT_TRAILER_CORRUPT => c"an update slot's trailer is torn or corrupted",
        MDN_ERROR_SLOT_BLOB_MISMATCH => c"an update slot's trailer commits another blob",
        MDN_ERROR_SEQUENCE_EXHAUSTED => c"the update sequence number is exhausted",
        MDN_ERROR_INVALID_INTEGER_NETWORK => {
            c"integer layers (int8-int16, int16-int16) must be every dense layer of a relu network"
        }
    }
}
