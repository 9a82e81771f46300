CREATE TABLE [conversations] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[title] NVARCHAR(255) NULL,
	[summary] NVARCHAR(MAX) NULL,
	[metadata] NVARCHAR(MAX) NULL,
	[started_at] DATETIME2(6) NOT NULL CONSTRAINT [df_conversations_started_at] DEFAULT (SYSUTCDATETIME()),
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_conversations_updated_at] DEFAULT (SYSUTCDATETIME()),
	[ended_at] DATETIME2(6) NULL,
	[message_count] INT NOT NULL CONSTRAINT [df_conversations_message_count] DEFAULT (0),
	CONSTRAINT [pk_conversations] PRIMARY KEY ([id]),
	CONSTRAINT [ck_conversations_metadata_json] CHECK (ISJSON([metadata]) = 1)
);
GO
CREATE INDEX [ix_conversations_updated_at] ON [conversations] ([updated_at]);
GO
CREATE TABLE [messages] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[conversation_id] INT NOT NULL,
	[role] NVARCHAR(16) NOT NULL,
	[content] NVARCHAR(MAX) NOT NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_messages_created_at] DEFAULT (SYSUTCDATETIME()),
	[sentiment_score] FLOAT(53) NULL,
	CONSTRAINT [pk_messages] PRIMARY KEY ([id]),
	CONSTRAINT [fk_messages_conversation_id_conversations] FOREIGN KEY ([conversation_id]) REFERENCES [conversations] ([id]) ON DELETE CASCADE,
	CONSTRAINT [ck_messages_role] CHECK ([role] IN ('user', 'assistant', 'system', 'tool')),
	CONSTRAINT [ck_messages_sentiment_score] CHECK ([sentiment_score] BETWEEN -1 AND 1)
);
GO
CREATE INDEX [ix_messages_conversation_id_created_at] ON [messages] ([conversation_id], [created_at]);
GO
CREATE TABLE [facts] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[category] NVARCHAR(64) NOT NULL,
	[content] NVARCHAR(MAX) NOT NULL,
	[memory_type] NVARCHAR(16) NOT NULL CONSTRAINT [df_facts_memory_type] DEFAULT (N'long'),
	[importance] FLOAT(53) NOT NULL CONSTRAINT [df_facts_importance] DEFAULT (0.7),
	[confidence] FLOAT(53) NOT NULL CONSTRAINT [df_facts_confidence] DEFAULT (0.85),
	[source] NVARCHAR(32) NOT NULL CONSTRAINT [df_facts_source] DEFAULT (N'conversation'),
	[source_conversation_id] INT NULL,
	[is_active] BIT NOT NULL CONSTRAINT [df_facts_is_active] DEFAULT (1),
	[is_private] BIT NOT NULL CONSTRAINT [df_facts_is_private] DEFAULT (0),
	[superseded_by] INT NULL,
	[expires_at] DATETIME2(6) NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_facts_created_at] DEFAULT (SYSUTCDATETIME()),
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_facts_updated_at] DEFAULT (SYSUTCDATETIME()),
	[last_accessed] DATETIME2(6) NULL,
	CONSTRAINT [pk_facts] PRIMARY KEY ([id]),
	CONSTRAINT [fk_facts_source_conversation_id_conversations] FOREIGN KEY ([source_conversation_id]) REFERENCES [conversations] ([id]) ON DELETE SET NULL,
	CONSTRAINT [fk_facts_superseded_by_facts] FOREIGN KEY ([superseded_by]) REFERENCES [facts] ([id]),
	CONSTRAINT [ck_facts_memory_type] CHECK ([memory_type] IN ('short', 'long', 'persistent')),
	CONSTRAINT [ck_facts_importance] CHECK ([importance] BETWEEN 0 AND 1),
	CONSTRAINT [ck_facts_confidence] CHECK ([confidence] BETWEEN 0 AND 1),
	CONSTRAINT [ck_facts_source] CHECK ([source] IN ('conversation', 'explicit', 'inferred', 'observed', 'compaction'))
);
GO
CREATE INDEX [ix_facts_is_active_category] ON [facts] ([is_active], [category]);
GO
CREATE INDEX [ix_facts_expires_at] ON [facts] ([expires_at]);
GO
CREATE INDEX [ix_facts_last_accessed] ON [facts] ([last_accessed]);
GO
CREATE TABLE [fact_relationships] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[fact_id_a] INT NOT NULL,
	[fact_id_b] INT NOT NULL,
	[relationship] NVARCHAR(32) NOT NULL,
	[confidence] FLOAT(53) NOT NULL CONSTRAINT [df_fact_relationships_confidence] DEFAULT (0.8),
	[note] NVARCHAR(MAX) NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_fact_relationships_created_at] DEFAULT (SYSUTCDATETIME()),
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_fact_relationships_updated_at] DEFAULT (SYSUTCDATETIME()),
	CONSTRAINT [pk_fact_relationships] PRIMARY KEY ([id]),
	CONSTRAINT [fk_fact_relationships_fact_id_a_facts] FOREIGN KEY ([fact_id_a]) REFERENCES [facts] ([id]),
	CONSTRAINT [fk_fact_relationships_fact_id_b_facts] FOREIGN KEY ([fact_id_b]) REFERENCES [facts] ([id]),
	CONSTRAINT [uq_fact_relationships_fact_id_a_fact_id_b] UNIQUE ([fact_id_a], [fact_id_b]),
	CONSTRAINT [ck_fact_relationships_relationship] CHECK ([relationship] IN ('CONTRADICTS', 'CONFIRMS', 'UPDATES', 'RELATED', 'CAUSED_BY', 'PRECEDES', 'PART_OF'))
);
GO
CREATE INDEX [ix_fact_relationships_fact_id_b] ON [fact_relationships] ([fact_id_b]);
GO
CREATE TABLE [episodes] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[conversation_id] INT NOT NULL,
	[summary] NVARCHAR(MAX) NOT NULL,
	[key_fact_ids] NVARCHAR(MAX) NOT NULL CONSTRAINT [df_episodes_key_fact_ids] DEFAULT (N'[]'),
	[key_entities] NVARCHAR(MAX) NOT NULL CONSTRAINT [df_episodes_key_entities] DEFAULT (N'[]'),
	[importance] FLOAT(53) NOT NULL CONSTRAINT [df_episodes_importance] DEFAULT (0.5),
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_episodes_created_at] DEFAULT (SYSUTCDATETIME()),
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_episodes_updated_at] DEFAULT (SYSUTCDATETIME()),
	CONSTRAINT [pk_episodes] PRIMARY KEY ([id]),
	CONSTRAINT [fk_episodes_conversation_id_conversations] FOREIGN KEY ([conversation_id]) REFERENCES [conversations] ([id]) ON DELETE CASCADE,
	CONSTRAINT [uq_episodes_conversation_id] UNIQUE ([conversation_id]),
	CONSTRAINT [ck_episodes_key_fact_ids_json] CHECK (ISJSON([key_fact_ids]) = 1),
	CONSTRAINT [ck_episodes_key_entities_json] CHECK (ISJSON([key_entities]) = 1)
);
GO
CREATE INDEX [ix_episodes_importance] ON [episodes] ([importance]);
GO
CREATE TABLE [personality_state] (
	[id] INT NOT NULL CONSTRAINT [df_personality_state_id] DEFAULT (1),
	[current_mood] NVARCHAR(16) NOT NULL CONSTRAINT [df_personality_state_current_mood] DEFAULT (N'neutral'),
	[mood_intensity] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_mood_intensity] DEFAULT (0.5),
	[energy_level] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_energy_level] DEFAULT (1.0),
	[verbosity] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_verbosity] DEFAULT (0.5),
	[formality] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_formality] DEFAULT (0.35),
	[humor] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_humor] DEFAULT (0.6),
	[depth] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_depth] DEFAULT (0.55),
	[emotional_support] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_emotional_support] DEFAULT (0.7),
	[question_frequency] FLOAT(53) NOT NULL CONSTRAINT [df_personality_state_question_frequency] DEFAULT (0.5),
	[total_interactions] INT NOT NULL CONSTRAINT [df_personality_state_total_interactions] DEFAULT (0),
	[positive_signals] INT NOT NULL CONSTRAINT [df_personality_state_positive_signals] DEFAULT (0),
	[negative_signals] INT NOT NULL CONSTRAINT [df_personality_state_negative_signals] DEFAULT (0),
	[last_interaction] DATETIME2(6) NULL,
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_personality_state_updated_at] DEFAULT (SYSUTCDATETIME()),
	CONSTRAINT [pk_personality_state] PRIMARY KEY ([id]),
	CONSTRAINT [ck_personality_state_id] CHECK ([id] = 1),
	CONSTRAINT [ck_personality_state_current_mood] CHECK ([current_mood] IN ('happy', 'playful', 'thoughtful', 'excited', 'concerned', 'warm', 'neutral', 'curious', 'melancholic'))
);
GO
CREATE TABLE [state_events] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[timestamp] DATETIME2(6) NOT NULL,
	[hour] SMALLINT NOT NULL,
	[day_of_week] SMALLINT NOT NULL,
	[transcript] NVARCHAR(MAX) NULL,
	[emotion] NVARCHAR(32) NULL,
	[volume] FLOAT(53) NULL,
	[speech_speed] FLOAT(53) NULL,
	[speech_duration] FLOAT(53) NULL,
	[pc_active] BIT NULL,
	[active_app] NVARCHAR(255) NULL,
	[idle_seconds] FLOAT(53) NULL,
	[inferred_state] NVARCHAR(32) NOT NULL,
	CONSTRAINT [pk_state_events] PRIMARY KEY ([id]),
	CONSTRAINT [ck_state_events_hour] CHECK ([hour] BETWEEN 0 AND 23),
	CONSTRAINT [ck_state_events_day_of_week] CHECK ([day_of_week] BETWEEN 0 AND 6),
	CONSTRAINT [ck_state_events_inferred_state] CHECK ([inferred_state] IN ('SLEEPING', 'JUST_WOKE_UP', 'AWAY', 'BACK_FROM_WORK', 'FOCUS_MODE', 'RELAXING', 'STAYING_UP', 'LOW_ENERGY', 'NORMAL'))
);
GO
CREATE INDEX [ix_state_events_timestamp] ON [state_events] ([timestamp]);
GO
CREATE TABLE [tasks] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[title] NVARCHAR(500) NOT NULL,
	[description] NVARCHAR(MAX) NULL,
	[due_date] DATETIME2(6) NULL,
	[priority] NVARCHAR(8) NOT NULL CONSTRAINT [df_tasks_priority] DEFAULT (N'medium'),
	[completed] BIT NOT NULL CONSTRAINT [df_tasks_completed] DEFAULT (0),
	[completed_at] DATETIME2(6) NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_tasks_created_at] DEFAULT (SYSUTCDATETIME()),
	[updated_at] DATETIME2(6) NOT NULL CONSTRAINT [df_tasks_updated_at] DEFAULT (SYSUTCDATETIME()),
	CONSTRAINT [pk_tasks] PRIMARY KEY ([id]),
	CONSTRAINT [ck_tasks_priority] CHECK ([priority] IN ('low', 'medium', 'high'))
);
GO
CREATE INDEX [ix_tasks_completed_due_date] ON [tasks] ([completed], [due_date]);
GO
CREATE TABLE [calendar_events] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[title] NVARCHAR(500) NOT NULL,
	[description] NVARCHAR(MAX) NULL,
	[start_datetime] DATETIME2(6) NOT NULL,
	[end_datetime] DATETIME2(6) NULL,
	[recurring] NVARCHAR(16) NULL,
	[location] NVARCHAR(500) NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_calendar_events_created_at] DEFAULT (SYSUTCDATETIME()),
	CONSTRAINT [pk_calendar_events] PRIMARY KEY ([id]),
	CONSTRAINT [ck_calendar_events_end_datetime] CHECK ([end_datetime] >= [start_datetime]),
	CONSTRAINT [ck_calendar_events_recurring] CHECK ([recurring] IN ('daily', 'weekly', 'monthly', 'yearly'))
);
GO
CREATE INDEX [ix_calendar_events_start_datetime] ON [calendar_events] ([start_datetime]);
GO
CREATE TABLE [proactive_log] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[message] NVARCHAR(MAX) NOT NULL,
	[reason] NVARCHAR(64) NOT NULL,
	[sent_at] DATETIME2(6) NOT NULL,
	CONSTRAINT [pk_proactive_log] PRIMARY KEY ([id])
);
GO
CREATE INDEX [ix_proactive_log_reason_sent_at] ON [proactive_log] ([reason], [sent_at]);
GO
CREATE TABLE [audit_log] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[ts] DATETIME2(6) NOT NULL,
	[conversation_id] INT NULL,
	[tool] NVARCHAR(128) NOT NULL,
	[args] NVARCHAR(MAX) NULL,
	[result] NVARCHAR(MAX) NULL,
	[mode] NVARCHAR(16) NULL,
	[status] NVARCHAR(16) NOT NULL,
	[duration_ms] INT NULL,
	CONSTRAINT [pk_audit_log] PRIMARY KEY ([id]),
	CONSTRAINT [fk_audit_log_conversation_id_conversations] FOREIGN KEY ([conversation_id]) REFERENCES [conversations] ([id]) ON DELETE SET NULL,
	CONSTRAINT [ck_audit_log_mode] CHECK ([mode] IN ('allow', 'confirm', 'block')),
	CONSTRAINT [ck_audit_log_status] CHECK ([status] IN ('ok', 'error', 'denied')),
	CONSTRAINT [ck_audit_log_args_json] CHECK (ISJSON([args]) = 1)
);
GO
CREATE INDEX [ix_audit_log_ts] ON [audit_log] ([ts]);
GO
CREATE INDEX [ix_audit_log_conversation_id] ON [audit_log] ([conversation_id]);
GO
CREATE TABLE [contradiction_notes] (
	[id] INT IDENTITY(1,1) NOT NULL,
	[new_fact_id] INT NOT NULL,
	[old_fact_id] INT NOT NULL,
	[conversation_id] INT NULL,
	[note] NVARCHAR(MAX) NOT NULL,
	[created_at] DATETIME2(6) NOT NULL CONSTRAINT [df_contradiction_notes_created_at] DEFAULT (SYSUTCDATETIME()),
	[consumed_at] DATETIME2(6) NULL,
	CONSTRAINT [pk_contradiction_notes] PRIMARY KEY ([id]),
	CONSTRAINT [fk_contradiction_notes_new_fact_id_facts] FOREIGN KEY ([new_fact_id]) REFERENCES [facts] ([id]),
	CONSTRAINT [fk_contradiction_notes_old_fact_id_facts] FOREIGN KEY ([old_fact_id]) REFERENCES [facts] ([id]),
	CONSTRAINT [fk_contradiction_notes_conversation_id_conversations] FOREIGN KEY ([conversation_id]) REFERENCES [conversations] ([id]) ON DELETE SET NULL
);
GO
