// Status and Result: the error type used through lib/. Exceptions are reserved for the top of main.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace pare {

/// Failure kinds; their numeric values are the process exit codes of DESIGN.md.
enum class ErrorCode : int {
    kOk = 0,
    kInternal = 1,
    kUsage = 2,
    kInvalidInput = 3,
    kUnsupported = 4,
    kGateFailed = 5,
};

/// Success, or a failure kind with a one-line message meant for the user.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok_status() { return Status(); }
    bool ok() const { return code_ == ErrorCode::kOk; }
    ErrorCode code() const { return code_; }
    const std::string& message() const { return message_; }

    /// Prefixes the message with context ("loading m.onnx: " + message), keeping the code.
    Status with_context(const std::string& context) const {
        if (ok()) return *this;
        return Status(code_, context + ": " + message_);
    }

private:
    ErrorCode code_ = ErrorCode::kOk;
    std::string message_;
};

inline Status invalid_input(std::string message) { return Status(ErrorCode::kInvalidInput, std::move(message)); }
inline Status unsupported(std::string message) { return Status(ErrorCode::kUnsupported, std::move(message)); }
inline Status usage_error(std::string message) { return Status(ErrorCode::kUsage, std::move(message)); }
inline Status internal_error(std::string message) { return Status(ErrorCode::kInternal, std::move(message)); }

/// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like StatusOr.
    Result(Status status) : status_(std::move(status)) {}  // NOLINT
    bool ok() const { return status_.ok(); }
    const Status& status() const { return status_; }
    T& value() & { return *value_; }
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }

private:
    Status status_;
    std::optional<T> value_;
};

}  // namespace pare

#define PARE_CONCAT_INNER(a, b) a##b
#define PARE_CONCAT(a, b) PARE_CONCAT_INNER(a, b)

/// Returns the Status of `expr` from the enclosing function if it failed.
#define PARE_RETURN_IF_ERROR(expr)                     \
    do {                                               \
        ::pare::Status pare_status_ = (expr);          \
        if (!pare_status_.ok()) return pare_status_;   \
    } while (0)

#define PARE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
    auto tmp = (expr);                             \
    if (!tmp.ok()) return tmp.status();            \
    lhs = std::move(tmp).value()

/// `PARE_ASSIGN_OR_RETURN(auto x, make_x())`: unwraps a Result or returns its Status.
#define PARE_ASSIGN_OR_RETURN(lhs, expr) PARE_ASSIGN_OR_RETURN_IMPL(PARE_CONCAT(pare_result_, __LINE__), lhs, expr)
