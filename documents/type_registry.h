#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "documents/document.h"

namespace zinc {

// Document types by name. Filled before the Endpoints that use it start, then only read.
// Thread-compatible: Register is not safe concurrently with anything; Find is.
class TypeRegistry {
 public:
  TypeRegistry() = default;
  TypeRegistry(const TypeRegistry&) = delete;
  TypeRegistry& operator=(const TypeRegistry&) = delete;

  // A registry holding the built-in types: map, text and canvas.
  static std::unique_ptr<TypeRegistry> WithBuiltins();

  // Adds type. Returns kInvalidArgument if its name is empty, too long or already taken.
  Status Register(std::unique_ptr<DocumentType> type);
  // The type called name, or nullptr.
  const DocumentType* Find(std::string_view name) const;

 private:
  std::map<std::string, std::unique_ptr<DocumentType>, std::less<>> types_;
};

}  // namespace zinc
