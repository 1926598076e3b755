import CDBus

/// A method call as the caller described it, before it becomes a libdbus message.
struct OutgoingCall: Sendable {
    var destination: String
    var path: ObjectPath
    var interface: String?
    var method: String
    var arguments: [DBusValue]
}

/// A signal as the emitter described it.
struct OutgoingSignal: Sendable {
    var path: ObjectPath
    var interface: String
    var member: String
    var arguments: [DBusValue]
}

/// Where to send the answer to a received method call.
struct ReplyAddress: Sendable {
    var destination: String?
    var serial: UInt32
}

/// Builds libdbus messages from Swift descriptions; runs on the I/O thread only.
/// Each returned message carries one reference the caller must drop.
enum OutgoingMessage {
    static func methodCall(_ call: OutgoingCall) throws(DBusError) -> OpaquePointer {
        try Validate.busName(call.destination)
        try Validate.path(call.path)
        if let interface = call.interface { try Validate.interface(interface) }
        try Validate.member(call.method)
        guard let message = dbus_message_new_method_call(
            call.destination, call.path.rawValue, call.interface, call.method)
        else { throw .invalidArgument("libdbus could not create a method call") }
        return try filled(message, with: call.arguments)
    }

    static func signal(_ signal: OutgoingSignal) throws(DBusError) -> OpaquePointer {
        try Validate.path(signal.path)
        try Validate.interface(signal.interface)
        try Validate.member(signal.member)
        guard let message = dbus_message_new_signal(signal.path.rawValue, signal.interface, signal.member) else {
            throw .invalidArgument("libdbus could not create a signal")
        }
        return try filled(message, with: signal.arguments)
    }

    static func methodReturn(to address: ReplyAddress, values: [DBusValue]) throws(DBusError) -> OpaquePointer {
        let message = try reply(DBUS_MESSAGE_TYPE_METHOD_RETURN, to: address)
        return try filled(message, with: values)
    }

    static func error(to address: ReplyAddress, name: String, text: String) throws(DBusError) -> OpaquePointer {
        try Validate.errorName(name)
        let message = try reply(DBUS_MESSAGE_TYPE_ERROR, to: address)
        dbus_message_set_error_name(message, name)
        return try filled(message, with: [.string(text)])
    }

    /// A call to the bus daemon that expects no answer, e.g. `RemoveMatch`.
    static func busNotification(_ method: String, _ arguments: [DBusValue]) throws(DBusError) -> OpaquePointer {
        let message = try methodCall(OutgoingCall(
            destination: busName, path: busPath, interface: busName, method: method, arguments: arguments))
        dbus_message_set_no_reply(message, 1)
        return message
    }

    private static func reply(_ type: Int32, to address: ReplyAddress) throws(DBusError) -> OpaquePointer {
        guard let message = dbus_message_new(type) else { throw .invalidArgument("libdbus could not create a reply") }
        dbus_message_set_reply_serial(message, address.serial)
        dbus_message_set_no_reply(message, 1)
        if let destination = address.destination { dbus_message_set_destination(message, destination) }
        return message
    }

    private static func filled(_ message: OpaquePointer, with values: [DBusValue]) throws(DBusError) -> OpaquePointer {
        do {
            try MessageWriter.append(values, to: message)
            return message
        } catch {
            dbus_message_unref(message)
            throw error
        }
    }
}
