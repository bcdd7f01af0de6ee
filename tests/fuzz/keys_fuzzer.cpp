// fuzz_keys: the authorized-keys parser (AuthorizedKeys::Parse, core/keys.h) and the canvas
// gateway's tokens parser (GatewayTokens::Parse, examples/canvas/bridge.h), which share one
// grammar (ParseRightsFile), on the same input.
//
// Invariants: a refusal names the file and a line; a file that parses gives each listed
// credential the name on its line, parses again to the same keys, and rights where writing
// implies reading.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/keys.h"
#include "examples/canvas/bridge.h"
#include "tests/fuzz/fuzz_util.h"

namespace zinc {
namespace fuzz {
namespace {

constexpr char kWhere[] = "fuzz.keys";

// The whitespace-separated fields of each line that is neither blank nor a comment.
std::vector<std::vector<std::string>> Lines(std::string_view text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (!fields.empty() && fields[0][0] != '#') out.push_back(std::move(fields));
  }
  return out;
}

void CheckRights(const KeyRights& r, const std::vector<std::string>& fields) {
  Expect(r.name == fields[1], "a credential with another name than its line's");
  for (const std::vector<std::string>* globs : {&r.read, &r.write}) {
    for (const std::string& g : *globs) Expect(!g.empty(), "an empty glob");
  }
  // Names to try: a few plain ones, and the line's own fields (globs match themselves when they
  // hold no special character).
  std::vector<std::string> names = {"a", "notes/today", "canvas", "x/y/z"};
  for (const std::string& f : fields) names.push_back(f.substr(0, 32));
  for (const std::string& name : names) {
    Expect(!r.CanWrite(name) || r.CanRead(name), "a right to write without the right to read");
    if (r.member) Expect(r.CanRead(name), "a member that cannot read");
  }
}

void FuzzKeys(std::string_view text) {
  const std::vector<std::vector<std::string>> lines = Lines(text);
  Result<AuthorizedKeys> keys = AuthorizedKeys::Parse(text, kWhere);
  if (keys.ok()) {
    Expect(keys->size() <= lines.size(), "more keys than lines");
    Result<AuthorizedKeys> again = AuthorizedKeys::Parse(text, kWhere);
    Expect(again.ok() && again->SameAs(*keys), "a keys file parses differently twice");
    for (const std::vector<std::string>& fields : lines) {
      Expect(IsZ85Key(fields[0]) && fields.size() >= 3, "a bad line of a keys file accepted");
      const KeyRights* r = keys->Find(fields[0]);
      Expect(r != nullptr, "a listed key is not found");
      Expect(r->id_prefix == IdPrefixForKey(fields[0]), "a key with another id prefix");
      CheckRights(*r, fields);
    }
  } else {
    Expect(keys.status().message().rfind(std::string(kWhere) + ":", 0) == 0,
           "a refused keys file without its file and line");
  }
  Result<canvas::GatewayTokens> tokens = canvas::GatewayTokens::Parse(text, kWhere);
  if (tokens.ok()) {
    Expect(tokens->size() <= lines.size(), "more tokens than lines");
    for (const std::vector<std::string>& fields : lines) {
      const KeyRights* r = tokens->Find(fields[0]);
      Expect(r != nullptr, "a listed token is not found");
      Expect(!r->member, "a token with the member right");
      CheckRights(*r, fields);
    }
  } else {
    Expect(tokens.status().message().rfind(std::string(kWhere) + ":", 0) == 0,
           "a refused tokens file without its file and line");
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace zinc

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  zinc::fuzz::FuzzKeys(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
