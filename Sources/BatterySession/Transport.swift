/// How the exporter reaches a BMS; the `transport` label of `bms_info`.
public enum Transport: String, Sendable, Equatable {
    case bluetooth
    case serial
    case simulated
}
