import CDBus

/// Turns a libdbus message body into Swift values; runs on the I/O thread only.
enum MessageReader {
    static func arguments(of message: OpaquePointer) throws(DBusError) -> [DBusValue] {
        var iterator = DBusMessageIter()
        guard dbus_message_iter_init(message, &iterator) != 0 else { return [] }
        var values: [DBusValue] = []
        repeat {
            values.append(try read(&iterator))
        } while dbus_message_iter_next(&iterator) != 0
        return values
    }

    /// Header fields are borrowed C strings owned by the message; copy them out now.
    static func text(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private static func read(_ iterator: inout DBusMessageIter) throws(DBusError) -> DBusValue {
        let type = dbus_message_iter_get_arg_type(&iterator)
        switch type {
        case TypeCode.byte: return .byte(basic(&iterator, UInt8(0)))
        case TypeCode.boolean: return .boolean(basic(&iterator, dbus_bool_t(0)) != 0)
        case TypeCode.int16: return .int16(basic(&iterator, Int16(0)))
        case TypeCode.uint16: return .uint16(basic(&iterator, UInt16(0)))
        case TypeCode.int32: return .int32(basic(&iterator, Int32(0)))
        case TypeCode.uint32: return .uint32(basic(&iterator, UInt32(0)))
        case TypeCode.int64: return .int64(basic(&iterator, Int64(0)))
        case TypeCode.uint64: return .uint64(basic(&iterator, UInt64(0)))
        case TypeCode.double: return .double(basic(&iterator, Double(0)))
        case TypeCode.string: return .string(basicText(&iterator))
        case TypeCode.objectPath: return .objectPath(ObjectPath(basicText(&iterator)))
        case TypeCode.signature: return .signature(basicText(&iterator))
        case TypeCode.array: return try readArray(&iterator)
        case TypeCode.structure:
            return .structure(try readElements(&iterator))
        case TypeCode.variant:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &sub)
            return .variant(try read(&sub))
        default:
            throw .unsupportedType(String(UnicodeScalar(UInt8(truncatingIfNeeded: type))))
        }
    }

    private static func readArray(_ iterator: inout DBusMessageIter) throws(DBusError) -> DBusValue {
        switch dbus_message_iter_get_element_type(&iterator) {
        case TypeCode.byte:
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &sub)
            var start: UnsafeRawPointer?
            var count: Int32 = 0
            dbus_message_iter_get_fixed_array(&sub, &start, &count)
            guard let start, count > 0 else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: start, count: Int(count))))
        case TypeCode.dictEntry:
            // "a{kv}": the key is one basic type code, the value is the rest.
            let inner = containerSignature(&iterator).dropFirst(2).dropLast()
            let keySignature = String(inner.prefix(1))
            let valueSignature = String(inner.dropFirst())
            var sub = DBusMessageIter()
            dbus_message_iter_recurse(&iterator, &sub)
            var entries: [DBusDictionaryEntry] = []
            while dbus_message_iter_get_arg_type(&sub) == TypeCode.dictEntry {
                var pair = DBusMessageIter()
                dbus_message_iter_recurse(&sub, &pair)
                let key = try read(&pair)
                dbus_message_iter_next(&pair)
                entries.append(DBusDictionaryEntry(key, try read(&pair)))
                dbus_message_iter_next(&sub)
            }
            return .dictionary(keySignature: keySignature, valueSignature: valueSignature, entries)
        default:
            let elementSignature = String(containerSignature(&iterator).dropFirst())
            return .array(elementSignature: elementSignature, try readElements(&iterator))
        }
    }

    private static func readElements(_ iterator: inout DBusMessageIter) throws(DBusError) -> [DBusValue] {
        var sub = DBusMessageIter()
        dbus_message_iter_recurse(&iterator, &sub)
        var elements: [DBusValue] = []
        while dbus_message_iter_get_arg_type(&sub) != TypeCode.invalid {
            elements.append(try read(&sub))
            dbus_message_iter_next(&sub)
        }
        return elements
    }

    private static func containerSignature(_ iterator: inout DBusMessageIter) -> String {
        guard let pointer = dbus_message_iter_get_signature(&iterator) else { return "" }
        defer { dbus_free(pointer) }
        return String(cString: pointer)
    }

    private static func basic<T: BitwiseCopyable>(_ iterator: inout DBusMessageIter, _ initial: T) -> T {
        var value = initial
        dbus_message_iter_get_basic(&iterator, &value)
        return value
    }

    private static func basicText(_ iterator: inout DBusMessageIter) -> String {
        var pointer: UnsafePointer<CChar>?
        dbus_message_iter_get_basic(&iterator, &pointer)
        return text(pointer) ?? ""
    }
}
