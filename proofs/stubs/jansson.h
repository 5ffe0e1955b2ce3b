/* Proof stub of <jansson.h>: the jansson API engine/model_io.c uses, with contracts for the
 * calls of the functions proved in runs model_arrays and model_root (what they read, that they
 * write nothing). The type tests, macros in jansson, are functions here. ci/proofs puts
 * proofs/stubs first on the include path of the parser runs; the build uses the real header. */
#ifndef MOEM_PROOF_JANSSON_H
#define MOEM_PROOF_JANSSON_H
#include <stddef.h>
#include <stdio.h>

typedef struct json_t json_t;
typedef long long json_int_t;
#define JSON_ERROR_TEXT_LENGTH 160
#define JSON_ERROR_SOURCE_LENGTH 80
typedef struct json_error_t {
    int line, column, position;
    char source[JSON_ERROR_SOURCE_LENGTH];
    char text[JSON_ERROR_TEXT_LENGTH];
} json_error_t;
#define JSON_REJECT_DUPLICATES 0x1
#define JSON_INDENT(n) ((n) & 0x1F)
#define JSON_REAL_PRECISION(n) (((n) & 0x1F) << 11)

/* reading: values are owned by the tree; none of these writes anything. A string value's text
 * is a valid string (json_string_value returns NULL for other values: its callers test
 * json_is_string first). */
/*@ axiomatic JsonString { predicate is_json_string(json_t *json); } */
/*@ assigns \result \from json; */ int json_is_array(const json_t *json);
/*@ assigns \result \from json; */ int json_is_object(const json_t *json);
/*@ assigns \result \from json; */ int json_is_number(const json_t *json);
/*@ assigns \result \from json; */ int json_is_integer(const json_t *json);
/*@ assigns \result \from json;
    ensures string: \result != 0 <==> is_json_string(json); */
int json_is_string(const json_t *json);
/*@ assigns \result \from json; */ int json_is_boolean(const json_t *json);
/*@ assigns \result \from json; */ int json_is_true(const json_t *json);
/*@ assigns \result \from array; */ size_t json_array_size(const json_t *array);
/*@ assigns \result \from array, index; */ json_t *json_array_get(const json_t *array, size_t index);
/*@ assigns \result \from object, key; */ json_t *json_object_get(const json_t *object, const char *key);
/*@ assigns \result \from json; */ double json_number_value(const json_t *json);
/*@ assigns \result \from json; */ json_int_t json_integer_value(const json_t *json);
/*@ requires string: is_json_string(json);
    assigns \result \from json;
    ensures text: valid_read_string(\result); */
const char *json_string_value(const json_t *json);

/* building (run model_write): a tree lives in jansson's own memory, so building, linking and
 * freeing one writes none of the caller's memory; a string value is copied from a valid
 * string. The keys are string literals, whose contents WP does not see: not checked. */
/*@ assigns \result \from \nothing; */ json_t *json_object(void);
/*@ assigns \result \from \nothing; */ json_t *json_array(void);
/*@ requires string: valid_read_string(value);
    assigns \result \from value[0 ..]; */
json_t *json_string(const char *value);
/*@ assigns \result \from value; */ json_t *json_integer(json_int_t value);
/*@ assigns \result \from value; */ json_t *json_real(double value);
/*@ assigns \result \from value; */ json_t *json_boolean(int value);
/*@ assigns \result \from object, key, value; */
int json_object_set_new(json_t *object, const char *key, json_t *value);
/*@ assigns \result \from array, value; */ int json_array_append_new(json_t *array, json_t *value);
/*@ assigns \nothing; */ void json_decref(json_t *json);

/* loading: the tree, or NULL and the error in *error */
/*@ requires valid: \valid(input) && \valid(error);
    assigns \result, *error \from *input, flags; */
json_t *json_loadf(FILE *input, size_t flags, json_error_t *error);
json_t *json_loads(const char *input, size_t flags, json_error_t *error);

/* writing (not called by the proved functions) */
int json_dumpf(const json_t *json, FILE *output, size_t flags);
#endif
