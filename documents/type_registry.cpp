#include "documents/type_registry.h"

#include "documents/canvas_document.h"
#include "documents/map_document.h"
#include "documents/text_document.h"

namespace zinc {

std::unique_ptr<TypeRegistry> TypeRegistry::WithBuiltins() {
  auto registry = std::make_unique<TypeRegistry>();
  // Cannot fail: distinct names on an empty registry.
  (void)registry->Register(std::make_unique<MapType>());
  (void)registry->Register(std::make_unique<TextType>());
  (void)registry->Register(std::make_unique<CanvasType>());
  return registry;
}

Status TypeRegistry::Register(std::unique_ptr<DocumentType> type) {
  std::string name(type->name());
  if (name.empty() || name.size() > 64) {
    return Status(StatusCode::kInvalidArgument, "a type name must be 1 to 64 bytes");
  }
  if (types_.count(name) != 0) {
    return Status(StatusCode::kInvalidArgument, "type '" + name + "' is already registered");
  }
  types_.emplace(std::move(name), std::move(type));
  return Status::Ok();
}

const DocumentType* TypeRegistry::Find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : it->second.get();
}

}  // namespace zinc
