"""/org/bluez with org.bluez.AgentManager1: agents registered per D-Bus client, one default agent."""

import dbus
import dbus.service

from .dbusobj import BluezError, Exported, invalid_args

AGENT_MANAGER = "org.bluez.AgentManager1"
AGENT = "org.bluez.Agent1"

# doc/agent-api.txt; "" means KeyboardDisplay.
CAPABILITIES = ("DisplayOnly", "DisplayYesNo", "KeyboardOnly", "NoInputNoOutput", "KeyboardDisplay", "")
# Capabilities that can answer RequestPasskey (the module displays nothing: the user types its PIN).
CAN_ENTER_PASSKEY = ("KeyboardOnly", "KeyboardDisplay", "")


def no_such_agent():
    return BluezError("org.bluez.Error.DoesNotExist", "No such Agent")


class Agent:
    def __init__(self, owner, path, capability):
        self.owner = owner        # unique bus name of the client that registered it
        self.path = path
        self.capability = capability


class BlueZRoot(Exported):
    def __init__(self, world, tree):
        super().__init__(tree, "/org/bluez")
        self.world = world
        self.agents = {}          # owner -> Agent (BlueZ allows one agent per client)
        self.default_owner = None
        self.props[AGENT_MANAGER] = {}
        self.props["org.bluez.ProfileManager1"] = {}

    @dbus.service.method(AGENT_MANAGER, in_signature="os", out_signature="", sender_keyword="sender")
    def RegisterAgent(self, agent, capability, sender=None):
        if str(capability) not in CAPABILITIES:
            raise invalid_args()
        if sender in self.agents:
            raise BluezError("org.bluez.Error.AlreadyExists", "Already Exists")
        self.agents[sender] = Agent(str(sender), str(agent), str(capability))
        self.world.watch_sender(sender)

    @dbus.service.method(AGENT_MANAGER, in_signature="o", out_signature="", sender_keyword="sender")
    def UnregisterAgent(self, agent, sender=None):
        registered = self.agents.get(sender)
        if registered is None or registered.path != str(agent):
            raise no_such_agent()
        self.drop_sender(sender)

    @dbus.service.method(AGENT_MANAGER, in_signature="o", out_signature="", sender_keyword="sender")
    def RequestDefaultAgent(self, agent, sender=None):
        registered = self.agents.get(sender)
        if registered is None or registered.path != str(agent):
            raise no_such_agent()
        self.default_owner = sender

    def drop_sender(self, sender):
        self.agents.pop(str(sender), None)
        if self.default_owner == str(sender):
            self.default_owner = None

    def agent_for(self, sender):
        """bluetoothd's agent_get(): the caller's own agent, else the default agent, else None."""
        return self.agents.get(str(sender)) or self.agents.get(self.default_owner)

    def state(self):
        return {"agents": {owner: {"path": a.path, "capability": a.capability} for owner, a in self.agents.items()},
                "default_agent": self.default_owner}
