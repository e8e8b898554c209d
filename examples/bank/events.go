package bank

import (
	"encoding/json"

	"github.com/arbiter-tx/arbiter/participant/outbox"
	"github.com/arbiter-tx/arbiter/proto/arbiterpb"
)

// EventSubject is the subject a transfer's event is published on.
const EventSubject = "transfer.completed"

// TransferCompleted is the event a transfer publishes through the outbox
// participant, exactly when the transfer commits.
type TransferCompleted struct {
	TxID   string `json:"tx_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	Amount int64  `json:"amount"`
}

// EventBranch is a transfer's third branch: the outbox participant
// outboxID publishes e on EventSubject if, and only if, the transfer
// commits.
func EventBranch(outboxID string, e TransferCompleted) *arbiterpb.Branch {
	data, _ := json.Marshal(e) // strings and an int always marshal
	return &arbiterpb.Branch{ParticipantId: outboxID, Payload: outbox.EncodePayload(outbox.Message{Subject: EventSubject, Data: data})}
}

// EventMsgID is the message ID (Nats-Msg-Id) the outbox outboxID gives
// the event of transaction txID: its first and only message.
func EventMsgID(txID, outboxID string) string { return outbox.MsgID(txID, outboxID, 0) }
