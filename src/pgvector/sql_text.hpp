#pragma once
// Values as the pgvector backend writes them into SQL parameters and reads them back.

#include <string>
#include <string_view>
#include <vector>

#include "lunadb/vector.hpp"
#include "sql/value.hpp"

namespace lunadb::pgvector {

// pgvector's text form "[x,y,...]" with each float in its shortest round-tripping form.
std::string vector_literal(const std::vector<float>& v);
// pgvector's binary form of `vector`: int16 dimension, int16 unused, big-endian float32s.
std::vector<float> parse_binary_vector(const sql::Blob& blob);
sql::Blob binary_vector(const std::vector<float>& v);
// jsonb's binary form: a version byte (1) and the text.
sql::Blob binary_jsonb(const std::string& json_text);

// Metadata as jsonb text whose numbers keep their value exactly: jsonb holds numbers as numeric,
// so a float is written with all its digits where the shortest form would be another number
// (integral floats: 2^60 as "1152921504606846976.0", never "1.152921504606847e+18"), and always
// with a '.' so that it reads back as a float. Integers and floats then compare exactly in SQL,
// as the embedded store compares them.
std::string exact_json(const vector::Json& value);

}  // namespace lunadb::pgvector
