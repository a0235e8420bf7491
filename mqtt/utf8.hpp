#pragma once

#include <string_view>

namespace sluice::mqtt {

// True when `s` is an MQTT UTF-8 encoded string's content (spec 1.5.4): well-formed UTF-8
// (no overlong forms, no code points above U+10FFFF, no surrogates U+D800..U+DFFF) and no
// U+0000. The length limit (65,535 bytes) is the caller's, as it depends on the field.
bool valid_utf8(std::string_view s);

}  // namespace sluice::mqtt
