#include "onnx/tensor_proto.h"

#include <cstring>

namespace pare {

namespace {

// Copies `count` elements from a repeated proto field into the tensor, converting each to the tensor's type.
template <class Src, class Dst>
void copy_converted(const google::protobuf::RepeatedField<Src>& src, Dst* dst) {
    for (int i = 0; i < src.size(); ++i) dst[i] = static_cast<Dst>(src.Get(i));
}

// The typed payload field a dtype uses and how many entries it must have.
enum class TypedField { kFloat, kInt32, kInt64, kDouble, kUint64 };

TypedField typed_field_for(DType dtype) {
    switch (dtype) {
        case DType::kF32: return TypedField::kFloat;
        case DType::kI64: return TypedField::kInt64;
        case DType::kF64: return TypedField::kDouble;
        case DType::kU32: case DType::kU64: return TypedField::kUint64;
        default: return TypedField::kInt32;
    }
}

int64_t typed_entries(DType dtype, int64_t numel) {
    // 4-bit types keep one packed byte (two elements) per int32 entry.
    return dtype == DType::kI4 || dtype == DType::kU4 ? (numel + 1) / 2 : numel;
}

int typed_size(const onnx::TensorProto& proto, TypedField field) {
    switch (field) {
        case TypedField::kFloat: return proto.float_data_size();
        case TypedField::kInt32: return proto.int32_data_size();
        case TypedField::kInt64: return proto.int64_data_size();
        case TypedField::kDouble: return proto.double_data_size();
        case TypedField::kUint64: return proto.uint64_data_size();
    }
    return 0;
}

bool has_typed_payload(const onnx::TensorProto& proto) {
    return proto.float_data_size() || proto.int32_data_size() || proto.int64_data_size() ||
           proto.double_data_size() || proto.uint64_data_size() || proto.string_data_size();
}

void decode_typed(const onnx::TensorProto& proto, Tensor& t) {
    void* dst = t.raw();
    switch (t.dtype()) {
        case DType::kF32: copy_converted(proto.float_data(), static_cast<float*>(dst)); break;
        case DType::kF64: copy_converted(proto.double_data(), static_cast<double*>(dst)); break;
        case DType::kI64: copy_converted(proto.int64_data(), static_cast<int64_t*>(dst)); break;
        case DType::kU32: copy_converted(proto.uint64_data(), static_cast<uint32_t*>(dst)); break;
        case DType::kU64: copy_converted(proto.uint64_data(), static_cast<uint64_t*>(dst)); break;
        case DType::kI32: copy_converted(proto.int32_data(), static_cast<int32_t*>(dst)); break;
        case DType::kI16: copy_converted(proto.int32_data(), static_cast<int16_t*>(dst)); break;
        case DType::kI8: copy_converted(proto.int32_data(), static_cast<int8_t*>(dst)); break;
        // float16 and bfloat16 store their bit patterns; 4-bit types their packed bytes.
        case DType::kU16: case DType::kF16: case DType::kBF16:
            copy_converted(proto.int32_data(), static_cast<uint16_t*>(dst));
            break;
        case DType::kU8: case DType::kBool: case DType::kU4: case DType::kI4:
            copy_converted(proto.int32_data(), static_cast<uint8_t*>(dst));
            break;
        default: break;
    }
}

template <class Src, class Dst>
void append_converted(const Src* src, int64_t count, google::protobuf::RepeatedField<Dst>* dst) {
    dst->Reserve(static_cast<int>(count));
    for (int64_t i = 0; i < count; ++i) dst->Add(static_cast<Dst>(src[i]));
}

void encode_typed(const Tensor& t, onnx::TensorProto& proto) {
    const void* src = t.raw();
    const int64_t n = typed_entries(t.dtype(), t.numel());
    switch (t.dtype()) {
        case DType::kF32: append_converted(static_cast<const float*>(src), n, proto.mutable_float_data()); break;
        case DType::kF64: append_converted(static_cast<const double*>(src), n, proto.mutable_double_data()); break;
        case DType::kI64: append_converted(static_cast<const int64_t*>(src), n, proto.mutable_int64_data()); break;
        case DType::kU32: append_converted(static_cast<const uint32_t*>(src), n, proto.mutable_uint64_data()); break;
        case DType::kU64: append_converted(static_cast<const uint64_t*>(src), n, proto.mutable_uint64_data()); break;
        case DType::kI32: append_converted(static_cast<const int32_t*>(src), n, proto.mutable_int32_data()); break;
        case DType::kI16: append_converted(static_cast<const int16_t*>(src), n, proto.mutable_int32_data()); break;
        case DType::kI8: append_converted(static_cast<const int8_t*>(src), n, proto.mutable_int32_data()); break;
        case DType::kU16: case DType::kF16: case DType::kBF16:
            append_converted(static_cast<const uint16_t*>(src), n, proto.mutable_int32_data());
            break;
        case DType::kU8: case DType::kBool: case DType::kU4: case DType::kI4:
            append_converted(static_cast<const uint8_t*>(src), n, proto.mutable_int32_data());
            break;
        default: break;
    }
}

void clear_payload(onnx::TensorProto& proto) {
    proto.clear_raw_data();
    proto.clear_float_data();
    proto.clear_int32_data();
    proto.clear_int64_data();
    proto.clear_double_data();
    proto.clear_uint64_data();
}

std::string tensor_label(const onnx::TensorProto& proto) {
    return proto.name().empty() ? std::string("unnamed tensor") : "tensor '" + proto.name() + "'";
}

}  // namespace

Result<StoredTensor> decode_tensor_proto(const onnx::TensorProto& proto) {
    StoredTensor stored;
    stored.header = proto;
    const DType dtype = dtype_from_onnx(proto.data_type());
    if (!dtype_is_supported(dtype) || proto.string_data_size() > 0) {
        stored.storage = TensorStorage::kOpaque;
        return stored;
    }
    Shape shape(proto.dims().begin(), proto.dims().end());
    const int64_t numel = shape_numel(shape);
    if (numel < 0) return invalid_input(tensor_label(proto) + " has invalid dims " + shape_to_string(shape));
    clear_payload(stored.header);

    if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
        stored.storage = TensorStorage::kExternal;
        if (proto.has_raw_data() || has_typed_payload(proto)) {
            return invalid_input(tensor_label(proto) + " is marked external but also has inline data");
        }
        return stored;
    }
    const size_t expected_bytes = dtype_storage_bytes(dtype, numel);
    if (proto.has_raw_data()) {
        if (proto.raw_data().size() != expected_bytes) {
            return invalid_input(tensor_label(proto) + " has " + std::to_string(proto.raw_data().size()) +
                                 " bytes of data, but its shape " + shape_to_string(shape) + " and dtype " +
                                 dtype_name(dtype) + " need " + std::to_string(expected_bytes));
        }
        PARE_ASSIGN_OR_RETURN(stored.value, Tensor::make(dtype, shape));
        if (expected_bytes) std::memcpy(stored.value.raw(), proto.raw_data().data(), expected_bytes);
        stored.storage = TensorStorage::kRaw;
        return stored;
    }
    if (!has_typed_payload(proto)) {
        if (numel != 0) return invalid_input(tensor_label(proto) + " has no data for shape " + shape_to_string(shape));
        PARE_ASSIGN_OR_RETURN(stored.value, Tensor::make(dtype, shape));
        stored.storage = TensorStorage::kNone;
        return stored;
    }
    const TypedField field = typed_field_for(dtype);
    const int64_t entries = typed_entries(dtype, numel);
    if (typed_size(proto, field) != entries) {
        return invalid_input(tensor_label(proto) + " has " + std::to_string(typed_size(proto, field)) +
                             " values, but its shape " + shape_to_string(shape) + " needs " + std::to_string(entries));
    }
    PARE_ASSIGN_OR_RETURN(stored.value, Tensor::make(dtype, shape));
    decode_typed(proto, stored.value);
    stored.storage = TensorStorage::kTyped;
    return stored;
}

Result<Tensor> parse_tensor_file(const std::string& bytes, const std::string& what) {
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes)) return invalid_input(what + " is not a serialized ONNX TensorProto");
    PARE_ASSIGN_OR_RETURN(StoredTensor stored, decode_tensor_proto(proto));
    if (stored.storage == TensorStorage::kOpaque) {
        return unsupported(what + " has data type " + std::to_string(proto.data_type()) + ", which pare does not read");
    }
    if (stored.storage == TensorStorage::kExternal) return unsupported(what + " uses external data");
    return stored.value;
}

onnx::TensorProto encode_tensor_proto(const StoredTensor& stored) {
    onnx::TensorProto proto = stored.header;
    if (stored.storage == TensorStorage::kOpaque || !stored.value.defined()) return proto;
    const Tensor& value = stored.value;
    proto.set_data_type(static_cast<int32_t>(value.dtype()));
    proto.clear_dims();
    for (int64_t d : value.shape()) proto.add_dims(d);
    switch (stored.storage) {
        case TensorStorage::kRaw:
            proto.set_raw_data(value.raw(), value.nbytes());
            break;
        case TensorStorage::kTyped:
            encode_typed(value, proto);
            break;
        default:
            break;
    }
    return proto;
}

onnx::TensorProto tensor_to_proto(const Tensor& tensor, const std::string& name) {
    StoredTensor stored;
    stored.header.set_name(name);
    stored.value = tensor;
    stored.storage = TensorStorage::kRaw;
    return encode_tensor_proto(stored);
}

}  // namespace pare
