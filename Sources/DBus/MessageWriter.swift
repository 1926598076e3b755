import CDBus

/// Appends Swift values to a libdbus message; runs on the I/O thread only.
///
/// Everything is checked before libdbus sees it: libdbus treats bad arguments as programming
/// errors and, by default, aborts the process.
enum MessageWriter {
    static func append(_ values: [DBusValue], to message: OpaquePointer) throws(DBusError) {
        for value in values { try validate(value) }
        var iterator = DBusMessageIter()
        dbus_message_iter_init_append(message, &iterator)
        for value in values { try append(value, to: &iterator) }
    }

    // MARK: Validation

    private static func validate(_ value: DBusValue) throws(DBusError) {
        switch value {
        case .byte, .boolean, .int16, .uint16, .int32, .uint32, .int64, .uint64, .double, .bytes:
            return
        case .string(let string):
            try Validate.text(string)
        case .objectPath(let path):
            try Validate.path(path)
        case .signature(let signature):
            try Validate.text(signature)
            guard dbus_signature_validate(signature, nil) != 0 else {
                throw .invalidArgument("invalid signature \(signature)")
            }
        case .array(let elementSignature, let elements):
            try Validate.singleType(elementSignature)
            for element in elements {
                try requireSignature(elementSignature, of: element)
                try validate(element)
            }
        case .dictionary(let keySignature, let valueSignature, let entries):
            try Validate.singleType(keySignature)
            try Validate.singleType(valueSignature)
            guard dbus_type_is_basic(Int32(keySignature.utf8.first ?? 0)) != 0, keySignature.utf8.count == 1 else {
                throw .invalidArgument("dictionary key type \(keySignature) is not basic")
            }
            for entry in entries {
                try requireSignature(keySignature, of: entry.key)
                try requireSignature(valueSignature, of: entry.value)
                try validate(entry.key)
                try validate(entry.value)
            }
        case .structure(let fields):
            guard !fields.isEmpty else { throw .invalidArgument("empty structure") }
            for field in fields { try validate(field) }
        case .variant(let inner):
            try validate(inner)
        }
    }

    private static func requireSignature(_ expected: String, of value: DBusValue) throws(DBusError) {
        let actual = value.signature
        // `.bytes` and `.array(elementSignature: "y", …)` share the signature `ay`, so either fits `aay`.
        guard actual == expected else {
            throw .invalidArgument("element of type \(actual) in a container of \(expected)")
        }
    }

    // MARK: Appending

    private static func append(_ value: DBusValue, to iterator: inout DBusMessageIter) throws(DBusError) {
        let appended: Bool
        switch value {
        case .byte(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.byte, &v) != 0
        case .boolean(let b):
            var v: dbus_bool_t = b ? 1 : 0
            appended = dbus_message_iter_append_basic(&iterator, TypeCode.boolean, &v) != 0
        case .int16(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.int16, &v) != 0
        case .uint16(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.uint16, &v) != 0
        case .int32(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.int32, &v) != 0
        case .uint32(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.uint32, &v) != 0
        case .int64(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.int64, &v) != 0
        case .uint64(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.uint64, &v) != 0
        case .double(var v): appended = dbus_message_iter_append_basic(&iterator, TypeCode.double, &v) != 0
        case .string(let s): appended = appendText(s, type: TypeCode.string, to: &iterator)
        case .objectPath(let p): appended = appendText(p.rawValue, type: TypeCode.objectPath, to: &iterator)
        case .signature(let s): appended = appendText(s, type: TypeCode.signature, to: &iterator)
        case .bytes(let bytes):
            appended = try inContainer(TypeCode.array, "y", of: &iterator) { sub in
                bytes.isEmpty || bytes.withUnsafeBufferPointer { buffer in
                    var start = buffer.baseAddress
                    return dbus_message_iter_append_fixed_array(&sub, TypeCode.byte, &start, Int32(buffer.count)) != 0
                }
            }
        case .array(let elementSignature, let elements):
            appended = try inContainer(TypeCode.array, elementSignature, of: &iterator) { sub throws(DBusError) in
                for element in elements { try append(element, to: &sub) }
                return true
            }
        case .dictionary(let keySignature, let valueSignature, let entries):
            appended = try inContainer(TypeCode.array, "{" + keySignature + valueSignature + "}", of: &iterator) {
                sub throws(DBusError) in
                for entry in entries {
                    guard try inContainer(TypeCode.dictEntry, nil, of: &sub, { pair throws(DBusError) in
                        try append(entry.key, to: &pair)
                        try append(entry.value, to: &pair)
                        return true
                    }) else { return false }
                }
                return true
            }
        case .structure(let fields):
            appended = try inContainer(TypeCode.structure, nil, of: &iterator) { sub throws(DBusError) in
                for field in fields { try append(field, to: &sub) }
                return true
            }
        case .variant(let inner):
            appended = try inContainer(TypeCode.variant, inner.signature, of: &iterator) { sub throws(DBusError) in
                try append(inner, to: &sub)
                return true
            }
        }
        // Arguments were validated, so a refusal here means libdbus ran out of memory.
        guard appended else { throw .invalidArgument("libdbus could not append \(value.signature)") }
    }

    private static func appendText(_ text: String, type: Int32, to iterator: inout DBusMessageIter) -> Bool {
        text.withCString { pointer in
            var start: UnsafePointer<CChar>? = pointer
            return dbus_message_iter_append_basic(&iterator, type, &start) != 0
        }
    }

    private static func inContainer(
        _ type: Int32, _ contained: String?, of iterator: inout DBusMessageIter,
        _ body: (inout DBusMessageIter) throws(DBusError) -> Bool
    ) throws(DBusError) -> Bool {
        var sub = DBusMessageIter()
        guard dbus_message_iter_open_container(&iterator, type, contained, &sub) != 0 else { return false }
        let filled: Bool
        do {
            filled = try body(&sub)
        } catch {
            dbus_message_iter_abandon_container(&iterator, &sub)
            throw error
        }
        guard filled else {
            dbus_message_iter_abandon_container(&iterator, &sub)
            return false
        }
        return dbus_message_iter_close_container(&iterator, &sub) != 0
    }
}

/// Checks names and paths with libdbus' own validators, which report instead of aborting.
enum Validate {
    static func text(_ text: String) throws(DBusError) {
        guard !text.utf8.contains(0) else { throw .invalidArgument("text contains NUL") }
    }

    static func path(_ path: ObjectPath) throws(DBusError) {
        try text(path.rawValue)
        guard dbus_validate_path(path.rawValue, nil) != 0 else {
            throw .invalidArgument("invalid object path \(path)")
        }
    }

    static func busName(_ name: String) throws(DBusError) {
        try text(name)
        guard dbus_validate_bus_name(name, nil) != 0 else { throw .invalidArgument("invalid bus name \(name)") }
    }

    static func interface(_ name: String) throws(DBusError) {
        try text(name)
        guard dbus_validate_interface(name, nil) != 0 else { throw .invalidArgument("invalid interface \(name)") }
    }

    static func member(_ name: String) throws(DBusError) {
        try text(name)
        guard dbus_validate_member(name, nil) != 0 else { throw .invalidArgument("invalid member \(name)") }
    }

    static func errorName(_ name: String) throws(DBusError) {
        try text(name)
        guard dbus_validate_error_name(name, nil) != 0 else { throw .invalidArgument("invalid error name \(name)") }
    }

    static func singleType(_ signature: String) throws(DBusError) {
        try text(signature)
        guard dbus_signature_validate_single(signature, nil) != 0 else {
            throw .invalidArgument("\(signature) is not a single complete type")
        }
    }
}
